// LayerRef: one block linear layer of the inspected model, numbered block * 7 + linear and named as
// recipes name it ("layers.3.w2", pipeline::linear_layer_name); and layer patterns, which select
// several layers at once ("layers.*.w2": every block's w2, "layers.3.*": all of block 3, "*").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/weights.h"

namespace bitlens::inspect {

struct LayerRef {
  uint32_t block = 0;
  model::Linear linear = model::Linear::Wq;
  uint32_t index() const { return block * model::kLinearsPerLayer + uint32_t(linear); }
  std::string name() const;
};
LayerRef layer_ref(uint32_t index);

// Parses one layer name; throws Error naming the text and the valid names when it is not a layer
// of a model with n_blocks blocks.
LayerRef parse_layer(std::string_view name, uint32_t n_blocks);

// The indices a layer name or pattern selects, in order; throws Error as parse_layer does.
std::vector<uint32_t> parse_layers(std::string_view pattern, uint32_t n_blocks);

}  // namespace bitlens::inspect
