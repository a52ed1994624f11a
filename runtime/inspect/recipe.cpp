// Recipe JSON writer.
#include "inspect/recipe.h"

#include <cstdio>

namespace bitlens::inspect {

namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += char(ch);
    } else if (ch < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      out += buf;
    } else {
      out += char(ch);
    }
  }
  return out + "\"";
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

std::string recipe_json(const Snapshot& s) {
  std::string j = "{\n  \"model\": " + quoted(s.model_name) + ",\n";
  j += "  \"budget_bpw\": " + number(s.budget_bpw) + ",\n";
  j += "  \"linear_bpw\": " + number(s.linear_bpw) + ",\n  \"layers\": [\n";
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const LayerRow& r = s.layers[i];
    j += "    {\"name\": " + quoted(r.name) + ", \"format\": " + quoted(quant::format_info(r.choice.format).name);
    if (r.choice.grouped()) j += ", \"group_size\": " + std::to_string(r.choice.group_size);
    j += std::string(", \"rotate\": ") + (r.choice.rotate ? "true" : "false") + ", \"bpw\": " + number(r.bpw) + "}";
    j += i + 1 < s.layers.size() ? ",\n" : "\n";
  }
  return j + "  ]\n}\n";
}

}  // namespace bitlens::inspect
