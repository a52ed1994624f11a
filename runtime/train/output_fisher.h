// The diagonal empirical Fisher of every block linear's outputs: f_i = mean over calibration tokens
// of (dL/dy_i)^2, L the summed next-token loss of a sequence and y the linear's output at a token.
// To second order, an output error e_t = dW x_t raises the expected loss per token by
// 1/2 sum_i f_i E[e_i^2] (nats), which puts the errors of all layers in one unit: the weight of
// the bit allocation's objective (docs/METHODS.md section 6; layer_allocation.h). On text sampled from
// the model itself the empirical Fisher estimates the true one, the Hessian of KL(p_fp32 || p).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "model/weights.h"

namespace bitlens::train {

struct OutputFisher {
  std::vector<std::array<std::vector<float>, model::kLinearsPerLayer>> f;  // [layer][linear] -> [out]
  size_t predicted_tokens = 0;  // tokens with a next-token target that the means are over

  std::span<const float> at(size_t layer, model::Linear l) const { return f.at(layer)[uint32_t(l)]; }
};

// Over `sequences` (each at least 2 tokens; the model's context bounds their length).
// progress(done, total) after each sequence.
OutputFisher output_fisher(const model::Model& model, const std::vector<std::vector<uint32_t>>& sequences,
                           const std::function<void(size_t, size_t)>& progress = {});

}  // namespace bitlens::train
