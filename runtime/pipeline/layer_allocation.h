// Per-layer candidate measurement and the budgeted choice of one candidate per layer
// (docs/METHODS.md section 6), recorded as a recipe. A candidate is a LinearSpec (method x format x
// bits x group x rotation); its cost is the bits the quantized layer stores (as
// PackedLinear::stored_bytes counts them: codes, parameters, masks, sign vectors), its error the
// layer's output error
// tr((W - W_eff) H (W - W_eff)^T) / 2 with W_eff the effective weight U^T W'_hat V, or the
// E[x^2]-weighted weight error without a Hessian, or the plain weight error without calibration.
// Given the layer's output Fisher f (train/output_fisher.h) and a Hessian, the error is instead the
// predicted rise of the loss per token, 1/2 sum_i f_i E[((W - W_eff) x)_i^2] in nats, which is
// comparable between layers: raw output errors are in each layer's own units (inputs of wo and w2
// are ~100x smaller than the normalized residual stream), so summing them misallocates bits.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "quant/calibration.h"
#include "pipeline/quantize_linear.h"
#include "pipeline/recipe.h"

namespace bitlens::pipeline {

struct LayerMeasurement {
  std::string name;
  uint64_t weights = 0;
  std::vector<LinearSpec> specs;
  std::vector<uint64_t> bits;   // stored bits per spec
  std::vector<double> errors;   // error per spec
};

// A deterministic rotation seed per layer name (FNV-1a).
uint64_t layer_seed(const std::string& name);

double layer_error(std::span<const float> w, std::span<const float> w_eff, uint32_t rows, uint32_t cols,
                   const quant::Calibration* cal, std::span<const float> output_fisher = {});

// The default candidates for a [rows x cols] layer: GPTQ (RTN without a Hessian) at 2, 3, 4, 8 bits
// and groups 64, 128, GPTQ with clipped group ranges at 2 and 3 bits, each plain and rotated where
// the widths allow; SliM-LLM at 2 and 3 bits,
// PTQ1.61, ternary and trit-planes (those needing calibration only with it); and f16.
std::vector<LinearSpec> default_candidates(uint32_t rows, uint32_t cols, const quant::Calibration* cal);

LayerMeasurement measure_layer(const std::string& name, std::span<const float> w, uint32_t rows, uint32_t cols,
                               const quant::Calibration* cal, std::span<const LinearSpec> specs,
                               std::span<const float> output_fisher = {});

// One candidate per layer minimizing the total error with total stored bits <= floor(target_bpw *
// weights). Layers fixed in `by_hand` keep their spec, which must be among the measured ones.
// Throws Error when even the smallest candidates exceed the budget.
Recipe allocate_recipe(std::span<const LayerMeasurement> layers, double target_bpw, const Recipe* by_hand = nullptr);

}  // namespace bitlens::pipeline
