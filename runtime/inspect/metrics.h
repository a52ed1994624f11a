// Per-layer quantization error (METHODS.md section 7) and the activation-aware saliency
// s_ij = w_ij^2 * E[x_j^2] (section 2) the inspector shows and the bit allocation weighs.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/weights.h"

namespace bitlens::inspect {

struct LayerMetrics {
  double weight_error = 0;    // ||W - W_hat||_F / ||W||_F
  double output_error = 0;    // ||X (W - W_hat)^T||_F / ||X W^T||_F on the calibration inputs X
  double saliency_error = 0;  // sqrt(sum s (w - w_hat)^2 / sum s w^2), s the activation-aware saliency
  double output_sse = 0;      // ||X (W - W_hat)^T||_F^2 / tokens
};

// E[x_j^2] over the calibration tokens: x is [tokens x cols].
std::vector<float> channel_energy(std::span<const float> x, uint32_t tokens, uint32_t cols);

// s_ij = w_ij^2 * energy_j, [rows x cols].
std::vector<float> activation_saliency(const model::Matrix& w, std::span<const float> energy);

// ||X W^T||_F^2 (the reference output energy of a layer), x is [tokens x w.cols].
double output_energy(const model::Matrix& w, std::span<const float> x, uint32_t tokens);

// All metrics of W_hat against W; output_energy is output_energy(w, x, tokens).
LayerMetrics measure_layer(const model::Matrix& w, std::span<const float> w_hat, std::span<const float> x,
                           uint32_t tokens, std::span<const float> energy, double output_energy);

}  // namespace bitlens::inspect
