// Gradient (Fisher) saliency, docs/METHODS.md section 2 (Cao & Aref 2025): s_ij = sum over calibration
// sequences of g_ij^2, g = d(mean next-token loss of the sequence) / d w_ij, for every block linear.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "model/weights.h"
#include "train/lm_gradient.h"

namespace bitlens::train {

struct GradientSaliency {
  LinearGradients squared;  // [layer][linear] -> [out x in], sum of g^2 over sequences
  size_t sequences = 0;
  double mean_loss = 0.0;   // mean next-token loss of the fp32 model over the sequences

  const std::vector<float>& at(size_t layer, model::Linear l) const { return squared.at(layer)[uint32_t(l)]; }
};

// tokens: n sequences of seq_len tokens, row-major. progress(done, total) after each sequence.
GradientSaliency gradient_saliency(const model::Model& model, std::span<const uint32_t> tokens, size_t seq_len,
                                   const std::function<void(size_t, size_t)>& progress = {});

}  // namespace bitlens::train
