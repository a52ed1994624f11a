// Ternary and trit-plane quantizers (docs/METHODS.md section 8).
//   ternary: per group w_hat = a * t, t in {-1, 0, 1}. For any threshold the optimal t is
//     sign(w) on the k largest |w| and 0 elsewhere, and the optimal a their weighted mean |w|; k
//     is chosen exactly (every k is tried), which is the error-minimizing threshold.
//   trit-planes (PTQTP): per group w_hat = a1 * t1 + a2 * t2, started from the ternary fit of w
//     and of its residual, then alternating the weighted least-squares fit of (a1, a2) with the
//     best of the 9 (t1, t2) pairs for every weight, until no pair changes.
// Scales are rounded to fp16 before the final choice of trits, so codes match the stored scales.
#pragma once

#include <cstdint>
#include <span>

#include "quant/error_weights.h"
#include "quant/lowbit.h"

namespace bitlens::quant {

// One group: trits into t (v.size() values); returns the fp16-representable scale. weights may be
// empty (plain squared error).
float ternary_group(std::span<const float> v, std::span<const float> weights, int8_t* t);

// One group of trit-planes; returns (a1, a2) fp16-representable.
struct TritPair {
  float a1, a2;
};
TritPair tritplane_group(std::span<const float> v, std::span<const float> weights, int8_t* t1, int8_t* t2,
                         uint32_t max_iterations = 20);

TernaryMatrix quantize_ternary(std::span<const float> w, uint32_t rows, uint32_t cols, uint32_t group_size,
                               const ErrorWeights& weights = {});
TritPlaneMatrix quantize_tritplane(std::span<const float> w, uint32_t rows, uint32_t cols, uint32_t group_size,
                                   const ErrorWeights& weights = {}, uint32_t max_iterations = 20);

}  // namespace bitlens::quant
