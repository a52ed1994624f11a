// LayerChoice: how the inspector quantizes one linear layer (format, group size, Hadamard
// rotation), the names of the layers ("blk.3.w2"), and the honest bits per weight of a choice.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/weights.h"
#include "quant/format.h"

namespace bitlens::inspect {

struct LayerChoice {
  quant::Format format = quant::Format::Q4;
  uint32_t group_size = 64;  // ignored by the float formats
  bool rotate = false;       // randomized Hadamard rotation of inputs and outputs (METHODS.md section 4)

  uint32_t bits() const { return quant::format_info(format).bits; }
  bool grouped() const { return quant::format_info(format).grouped; }
  std::string describe() const;  // "q4 g64", "q2 g128 rot", "f16"
  bool operator==(const LayerChoice& o) const;
};

// Bits per weight of a [rows x cols] layer stored with `choice`: packed codes, group parameters and
// the two sign vectors of a rotation.
double choice_bpw(const LayerChoice& choice, uint32_t rows, uint32_t cols);

// Why `choice` cannot be used for a [rows x cols] layer, or empty if it can.
std::string choice_problem(const LayerChoice& choice, uint32_t rows, uint32_t cols);

// The options the bit allocation chooses from: every grouped format at group sizes 64 and 128,
// with and without rotation where the shape allows it.
std::vector<LayerChoice> allocation_candidates(uint32_t rows, uint32_t cols);

// Block linear layers are numbered block * 7 + linear and named "blk.<block>.<linear>".
struct LayerRef {
  uint32_t block = 0;
  model::Linear linear = model::Linear::Wq;
  uint32_t index() const { return block * model::kLinearsPerLayer + uint32_t(linear); }
};
std::string layer_name(LayerRef ref);
// Parses "blk.3.w2"; throws Error naming the text and the valid range when it is not a layer of a
// model with n_blocks blocks.
LayerRef parse_layer(std::string_view name, uint32_t n_blocks);

}  // namespace bitlens::inspect
