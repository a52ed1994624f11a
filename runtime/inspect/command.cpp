// Script text <-> commands.
#include "inspect/command.h"

#include <charconv>
#include <cstdio>
#include <vector>

#include "common/error.h"

namespace bitlens::inspect {

namespace {

const char* kUsage =
    "commands: select LAYER | bits LAYERS N | method LAYERS NAME | group LAYERS N | rotate LAYERS none|input|both | "
    "budget BPW | undo | generate PROMPT | save-recipe PATH | save-model PATH | "
    "open MODEL TOKENIZER CALIBRATION_TEXT EVALUATION_TEXT";

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

template <class T>
T number(std::string_view text, std::string_view what) {
  T v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size())
    throw Error("'" + std::string(text) + "' is not a valid " + std::string(what));
  return v;
}

}  // namespace

Command parse_command(std::string_view line) {
  const auto w = words(line);
  if (w.empty()) throw Error(std::string("empty command; ") + kUsage);
  const std::string_view verb = w[0];
  auto need = [&](size_t n) {
    if (w.size() != n) throw Error("'" + std::string(line) + "': wrong number of arguments; " + kUsage);
  };
  if (verb == "select") {
    need(2);
    return SelectLayer{std::string(w[1])};
  }
  if (verb == "bits") {
    need(3);
    return SetLayer{.layer = std::string(w[1]), .bits = number<uint32_t>(w[2], "bit width")};
  }
  if (verb == "method") {
    need(3);
    return SetLayer{.layer = std::string(w[1]), .method = pipeline::parse_method(std::string(w[2]))};
  }
  if (verb == "group") {
    need(3);
    return SetLayer{.layer = std::string(w[1]), .group_size = number<uint32_t>(w[2], "group size")};
  }
  if (verb == "rotate") {
    need(3);
    return SetLayer{.layer = std::string(w[1]), .rotation = quant::parse_rotation_mode(std::string(w[2]))};
  }
  if (verb == "budget") {
    need(2);
    return SetBudget{number<double>(w[1], "budget in bits per weight")};
  }
  if (verb == "undo") {
    need(1);
    return Undo{};
  }
  if (verb == "save-recipe") {
    need(2);
    return SaveRecipe{std::string(w[1])};
  }
  if (verb == "save-model") {
    need(2);
    return SaveModel{std::string(w[1])};
  }
  if (verb == "generate") {
    if (w.size() < 2) throw Error("generate needs a prompt; " + std::string(kUsage));
    const size_t start = line.find(w[1]);  // the prompt is the rest of the line, spaces kept
    const size_t end = line.find_last_not_of(" \t\r");
    return Generate{std::string(line.substr(start, end + 1 - start))};
  }
  if (verb == "open") {
    need(5);
    return OpenFiles{std::string(w[1]), std::string(w[2]), std::string(w[3]), std::string(w[4])};
  }
  throw Error("unknown command '" + std::string(verb) + "'; " + kUsage);
}

std::string describe(const Command& c) {
  struct Describe {
    std::string operator()(const OpenModel& o) const { return "open " + (o.model ? o.model->source : "(none)"); }
    std::string operator()(const SelectLayer& s) const { return "select " + s.layer; }
    std::string operator()(const SetLayer& s) const {
      std::string t = "set " + s.layer;
      if (s.method) t += std::string(" method ") + pipeline::method_name(*s.method);
      if (s.bits) t += " bits " + std::to_string(*s.bits);
      if (s.group_size) t += " group " + std::to_string(*s.group_size);
      if (s.rotation) t += std::string(" rotate ") + quant::rotation_mode_name(*s.rotation);
      return t;
    }
    std::string operator()(const SetBudget& b) const {
      char buf[64];
      std::snprintf(buf, sizeof buf, "budget %.3g bpw", b.bpw);
      return buf;
    }
    std::string operator()(const Undo&) const { return "undo"; }
    std::string operator()(const OpenFiles& o) const { return "open " + o.model_path; }
    std::string operator()(const Generate& g) const { return "generate " + g.prompt; }
    std::string operator()(const SaveRecipe& s) const { return "save-recipe " + s.path; }
    std::string operator()(const SaveModel& s) const { return "save-model " + s.path; }
  };
  return std::visit(Describe{}, c);
}

}  // namespace bitlens::inspect
