// Clipping search (docs/METHODS.md section 1, OmniQuant's weight clipping done as a grid search): per
// group, the range [beta * min, gamma * max] with gamma, beta on a 20-point grid in (0.5, 1]
// (1, 0.975, ..., 0.525) that minimizes the group's (optionally weighted) squared error.
#pragma once

#include <cstdint>
#include <span>

#include "quant/error_weights.h"
#include "quant/group_quant.h"

namespace bitlens::quant {

inline constexpr uint32_t kClipGridPoints = 20;
inline float clip_grid_value(uint32_t k) { return 1.0f - 0.025f * float(k); }

// Best parameters of one group; weights: one per value, or empty for the plain error.
QParams search_clip(std::span<const float> w, std::span<const float> weights, uint32_t bits);

// Squared error sum_j weight_j (w_j - w_hat_j)^2 of a group under parameters p.
double group_error(std::span<const float> w, std::span<const float> weights, const QParams& p, uint32_t bits);

QuantizedMatrix quantize_clip_search(std::span<const float> w, uint32_t rows, uint32_t cols, uint32_t bits,
                                     uint32_t group_size, const ErrorWeights& weights = {});

}  // namespace bitlens::quant
