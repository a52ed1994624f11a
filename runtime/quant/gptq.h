// GPTQ (docs/METHODS.md section 3, Frantar et al. 2022). With H = 2 X^T X / n of the layer's inputs,
// damped by damp * mean(diag H), and U the upper Cholesky factor of H^-1, every row walks its
// columns j in blocks of `block`: q_j = Q(w_j), e = (w_j - q_j) / U_jj, w_{j+1..} -= e U_{j, j+1..}
// inside the block; the block's accumulated update reaches the later columns once per block.
// A group's (scale, offset) is chosen from the row's current (updated) weights when the walk
// enters the group; groups never straddle blocks (block is a multiple of group_size). Input
// channels with H_jj = 0 (never active) are quantized as zero weights. Rows are independent given
// U, so they run in parallel. The walk also serves SliM-LLM (a width per column group and its own
// choice of group parameters).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "quant/group_quant.h"

namespace bitlens::quant {

struct GptqOptions {
  uint32_t bits = 4;
  uint32_t group_size = 64;
  double damp = 0.01;
  uint32_t block = 128;
  bool clip_search = false;  // choose each group's parameters by the clipping search (clip_search.h)
};

// hessian: [cols x cols] (H = 2 X^T X / n, undamped).
QuantizedMatrix quantize_gptq(std::span<const float> w, uint32_t rows, uint32_t cols,
                              const std::vector<double>& hessian, const GptqOptions& options);

// Parameters (fp16-representable) of the group of `bits`-bit codes starting at column col0 of
// `row`, from the group's current weights.
using GroupParamChooser = std::function<QParams(std::span<const float> group, uint32_t bits, uint32_t row, uint32_t col0)>;

struct GptqWalk {
  uint32_t group_size = 64;
  std::vector<uint8_t> group_bits;  // width of every column group
  GroupParamChooser choose;
  double damp = 0.01;
  uint32_t block = 128;
};

struct GptqCodes {
  std::vector<uint8_t> codes;  // [rows][cols]
  std::vector<QParams> params; // [rows][groups]
};

GptqCodes gptq_walk(std::span<const float> w, uint32_t rows, uint32_t cols, const std::vector<double>& hessian,
                    const GptqWalk& walk);

}  // namespace bitlens::quant
