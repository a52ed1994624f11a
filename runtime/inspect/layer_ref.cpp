// Layer names and patterns.
#include "inspect/layer_ref.h"

#include <charconv>

#include "common/error.h"
#include "pipeline/model_quant.h"

namespace bitlens::inspect {

std::string LayerRef::name() const { return pipeline::linear_layer_name(block, linear); }

LayerRef layer_ref(uint32_t index) {
  return {index / model::kLinearsPerLayer, model::Linear(index % model::kLinearsPerLayer)};
}

namespace {

Error unknown_layer(std::string_view name, uint32_t n_blocks) {
  return Error("unknown layer '" + std::string(name) + "' (layers are layers.<0.." + std::to_string(n_blocks - 1) +
               ">.<wq|wk|wv|wo|w1|w2|w3>; a * selects every block or every linear)");
}

// Splits "layers.B.L" into B and L; both may be "*".
bool split(std::string_view name, std::string_view& block, std::string_view& linear) {
  constexpr std::string_view kPrefix = "layers.";
  if (name.substr(0, kPrefix.size()) != kPrefix) return false;
  const std::string_view rest = name.substr(kPrefix.size());
  const size_t dot = rest.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == rest.size()) return false;
  block = rest.substr(0, dot);
  linear = rest.substr(dot + 1);
  return true;
}

bool parse_block(std::string_view text, uint32_t n_blocks, uint32_t& block) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), block);
  return ec == std::errc() && end == text.data() + text.size() && block < n_blocks;
}

bool parse_linear(std::string_view text, model::Linear& linear) {
  for (uint32_t i = 0; i < model::kLinearsPerLayer; ++i)
    if (text == model::linear_name(model::Linear(i))) {
      linear = model::Linear(i);
      return true;
    }
  return false;
}

}  // namespace

LayerRef parse_layer(std::string_view name, uint32_t n_blocks) {
  if (n_blocks == 0) throw Error("no model is open");
  std::string_view b, l;
  LayerRef ref;
  if (!split(name, b, l) || !parse_block(b, n_blocks, ref.block) || !parse_linear(l, ref.linear))
    throw unknown_layer(name, n_blocks);
  return ref;
}

std::vector<uint32_t> parse_layers(std::string_view pattern, uint32_t n_blocks) {
  if (n_blocks == 0) throw Error("no model is open");
  std::vector<uint32_t> out;
  if (pattern == "*") {
    for (uint32_t i = 0; i < n_blocks * model::kLinearsPerLayer; ++i) out.push_back(i);
    return out;
  }
  std::string_view b, l;
  if (!split(pattern, b, l)) throw unknown_layer(pattern, n_blocks);
  uint32_t block = 0;
  model::Linear linear{};
  if (b != "*" && !parse_block(b, n_blocks, block)) throw unknown_layer(pattern, n_blocks);
  if (l != "*" && !parse_linear(l, linear)) throw unknown_layer(pattern, n_blocks);
  for (uint32_t i = 0; i < n_blocks * model::kLinearsPerLayer; ++i) {
    const LayerRef r = layer_ref(i);
    if ((b == "*" || r.block == block) && (l == "*" || r.linear == linear)) out.push_back(i);
  }
  return out;
}

}  // namespace bitlens::inspect
