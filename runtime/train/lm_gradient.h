// The language-model loss of a float model on token sequences (mean next-token cross-entropy) and
// its gradient with respect to every block linear weight: embedding, blocks, final norm and
// classifier forward, then the backward through all of them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "model/weights.h"
#include "train/block.h"

namespace bitlens::train {

// dL/dW of each block linear: [layer][linear] -> [out x in].
using LinearGradients = std::vector<std::array<std::vector<float>, model::kLinearsPerLayer>>;

class LmGradient {
 public:
  // The model must outlive this object.
  explicit LmGradient(const model::Model& model);

  // Mean next-token cross-entropy of `tokens` (shape.n_seq sequences of shape.seq_len tokens,
  // row-major; position i predicts token i + 1). Fills `grads` (resized as needed) when not null.
  // Adds each block linear's squared output gradients (of this mean loss) to `out_sq[layer]` when
  // not null (resized as needed).
  double loss(std::span<const uint32_t> tokens, BatchShape shape, LinearGradients* grads,
              std::vector<OutputSquares>* out_sq = nullptr);

 private:
  const model::Model& model_;
  Block block_;
  // Buffers reused from call to call.
  std::vector<std::vector<float>> xs_;  // block inputs, then the last block's output
  std::vector<BlockActivations> acts_;
  std::vector<float> xf_, inv_, logits_, dlogits_, dxf_, dx_, dprev_;
};

}  // namespace bitlens::train
