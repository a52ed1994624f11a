// One transformer block's batched fp32 forward (keeping what the backward needs) and backward:
//   h = x + Wo attention(rope(Wq n1), rope(Wk n1), Wv n1),  n1 = rmsnorm(x, rms_att)
//   y = h + W2 (silu(W1 n2) * W3 n2),                       n2 = rmsnorm(h, rms_ffn)
// The seven linear weights are passed as plain [out x in] float arrays, so the same code runs the
// full-precision block and a quantized block whose effective weights Q(W) + s B A are rebuilt
// every training step.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "model/config.h"
#include "model/weights.h"
#include "train/ops.h"

namespace bitlens::train {

struct BlockWeights {
  const float* rms_att = nullptr;  // [dim]
  const float* rms_ffn = nullptr;  // [dim]
  std::array<const float*, model::kLinearsPerLayer> linear{};  // indexed by model::Linear, [out x in]
};

// The weights of layer `layer` of a float model.
BlockWeights block_weights(const model::Model& m, size_t layer);

// Shape [out, in] of a block linear.
struct LinearShape {
  size_t out, in;
};
LinearShape linear_shape(const model::ModelConfig& c, model::Linear l);

// Activations the backward pass needs, for one batch, and the backward's scratch. Reusing one
// object across batches of the same shape reuses its memory.
// Per linear (indexed by model::Linear), per output: the sum over tokens of the squared gradient of
// the loss with respect to that output (the diagonal of the empirical output Fisher, unnormalized).
using OutputSquares = std::array<std::vector<double>, model::kLinearsPerLayer>;

struct BlockActivations {
  BatchShape shape;
  std::vector<float> x, n1, inv1, q, k, v, probs, att, h, n2, inv2, gate, up, act;
  std::vector<float> d_act, d_gate, d_up, d_n2, d_h, d_att, d_q, d_k, d_v, d_n1;  // backward scratch
};

class Block {
 public:
  explicit Block(const model::ModelConfig& config);

  // y [tokens x dim] from x, keeping the activations in `acts`.
  void forward(const BlockWeights& w, BatchShape shape, const float* x, float* y, BlockActivations& acts) const;

  // From dy: dx (if not null) and the gradient of every linear weight whose dw entry is not null
  // (overwritten), for the batch of the last forward into `acts`. Norm weights are frozen. With
  // `out_sq`, each linear's squared output gradients are added to it (resized as needed).
  void backward(const BlockWeights& w, BlockActivations& acts, const float* dy, float* dx,
                const std::array<float*, model::kLinearsPerLayer>& dw, OutputSquares* out_sq = nullptr) const;

  const model::ModelConfig& config() const { return c_; }

 private:
  model::ModelConfig c_;
  RopeTable rope_;
};

}  // namespace bitlens::train
