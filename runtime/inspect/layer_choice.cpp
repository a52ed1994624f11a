// Layer choices, their honest size, and layer names.
#include "inspect/layer_choice.h"

#include <algorithm>
#include <charconv>

#include "common/error.h"
#include "quant/hadamard.h"

namespace bitlens::inspect {

std::string LayerChoice::describe() const {
  std::string s = quant::format_info(format).name;
  if (grouped()) s += " g" + std::to_string(group_size);
  if (rotate) s += " rot";
  return s;
}

bool LayerChoice::operator==(const LayerChoice& o) const {
  return format == o.format && rotate == o.rotate && (!grouped() || group_size == o.group_size);
}

double choice_bpw(const LayerChoice& c, uint32_t rows, uint32_t cols) {
  quant::PackedLayout layout{c.format, rows, cols, c.grouped() ? c.group_size : 0};
  double bits = layout.bpw() * double(rows) * double(cols);
  if (c.rotate) bits += 32.0 * ((rows + 31) / 32 + (cols + 31) / 32);  // the sign vectors, as stored
  return bits / (double(rows) * double(cols));
}

std::string choice_problem(const LayerChoice& c, uint32_t rows, uint32_t cols) {
  if (c.grouped()) {
    const auto& sizes = quant::supported_group_sizes();
    if (std::find(sizes.begin(), sizes.end(), c.group_size) == sizes.end()) {
      std::string list;
      for (uint32_t g : sizes) list += (list.empty() ? "" : ", ") + std::to_string(g);
      return "group size " + std::to_string(c.group_size) + " is not supported (choose " + list + ")";
    }
  }
  if (c.rotate) {
    for (uint32_t n : {rows, cols})
      if (!quant::hadamard_supported(n))
        return "cannot rotate: " + std::to_string(n) + " is not m * 2^k with m in {1, 12, 20, 28, 36}";
  }
  return {};
}

std::vector<LayerChoice> allocation_candidates(uint32_t rows, uint32_t cols) {
  std::vector<LayerChoice> out;
  for (const auto& f : quant::all_formats()) {
    if (!f.grouped) continue;
    for (uint32_t g : {64u, 128u})
      for (bool rot : {false, true}) {
        LayerChoice c{f.format, g, rot};
        if (choice_problem(c, rows, cols).empty()) out.push_back(c);
      }
  }
  return out;
}

std::string layer_name(LayerRef ref) {
  return "blk." + std::to_string(ref.block) + "." + model::linear_name(ref.linear);
}

LayerRef parse_layer(std::string_view name, uint32_t n_blocks) {
  auto fail = [&]() -> Error {
    return Error("unknown layer '" + std::string(name) + "' (layers are blk.<0.." + std::to_string(n_blocks - 1) +
                 ">.<wq|wk|wv|wo|w1|w2|w3>)");
  };
  if (n_blocks == 0) throw Error("no model is open");
  if (name.substr(0, 4) != "blk.") throw fail();
  const std::string_view rest = name.substr(4);
  const size_t dot = rest.find('.');
  if (dot == std::string_view::npos || dot == 0) throw fail();
  uint32_t block = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + dot, block);
  if (ec != std::errc() || end != rest.data() + dot || block >= n_blocks) throw fail();
  const std::string_view lin = rest.substr(dot + 1);
  for (uint32_t i = 0; i < model::kLinearsPerLayer; ++i)
    if (lin == model::linear_name(model::Linear(i))) return {block, model::Linear(i)};
  throw fail();
}

}  // namespace bitlens::inspect
