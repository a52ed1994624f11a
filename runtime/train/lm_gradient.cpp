// Full-model loss and backward (see lm_gradient.h).
#include "train/lm_gradient.h"

#include <cstring>

#include "common/error.h"
#include "train/gemm.h"

namespace bitlens::train {

LmGradient::LmGradient(const model::Model& model) : model_(model), block_(model.config) {}

double LmGradient::loss(std::span<const uint32_t> tokens, BatchShape shape, LinearGradients* grads,
                        std::vector<OutputSquares>* out_sq) {
  const bool backward = grads || out_sq;
  const model::ModelConfig& cfg = model_.config;
  const size_t T = shape.tokens(), dim = cfg.dim, vocab = cfg.vocab_size, L = cfg.n_layers;
  if (tokens.size() != T || shape.seq_len < 2) throw Error("lm loss: need sequences of at least 2 tokens");
  // Forward: embedding, blocks (keeping activations), final norm, classifier.
  xs_.resize(L + 1);
  for (auto& x : xs_) x.resize(T * dim);
  for (size_t t = 0; t < T; ++t) {
    if (tokens[t] >= vocab) throw Error("lm loss: token " + std::to_string(tokens[t]) + " outside the vocabulary");
    std::memcpy(&xs_[0][t * dim], model_.weights.token_embedding.row(tokens[t]), dim * sizeof(float));
  }
  acts_.resize(backward ? L : 1);
  for (size_t l = 0; l < L; ++l)
    block_.forward(block_weights(model_, l), shape, xs_[l].data(), xs_[l + 1].data(), acts_[backward ? l : 0]);
  xf_.resize(T * dim);
  inv_.resize(T);
  logits_.resize(T * vocab);
  rmsnorm_forward(xs_[L].data(), model_.weights.rms_final.data, T, dim, cfg.norm_eps, xf_.data(), inv_.data());
  gemm_nt(T, vocab, dim, xf_.data(), model_.weights.classifier.data, logits_.data(), false);

  // Cross-entropy of positions 0..seq_len-2 of every sequence; the last position has no target.
  const size_t S = shape.seq_len, n_pred = shape.n_seq * (S - 1);
  if (backward) dlogits_.assign(T * vocab, 0.0f);
  double nll = 0.0;
  for (size_t s = 0; s < shape.n_seq; ++s)
    nll += cross_entropy(&logits_[s * S * vocab], tokens.subspan(s * S + 1, S - 1), vocab,
                         backward ? &dlogits_[s * S * vocab] : nullptr, 1.0f / float(n_pred));
  if (!backward) return nll / double(n_pred);

  // Backward: classifier (frozen), final norm, blocks in reverse.
  dxf_.resize(T * dim);
  dx_.resize(T * dim);
  dprev_.resize(T * dim);
  gemm_nn(T, dim, vocab, dlogits_.data(), model_.weights.classifier.data, dxf_.data(), false);
  rmsnorm_backward(xs_[L].data(), model_.weights.rms_final.data, inv_.data(), dxf_.data(), T, dim, dx_.data());
  if (grads) grads->resize(L);
  if (out_sq) out_sq->resize(L);
  for (size_t l = L; l-- > 0;) {
    std::array<float*, model::kLinearsPerLayer> dw{};
    for (uint32_t i = 0; grads && i < model::kLinearsPerLayer; ++i) {
      const LinearShape sh = linear_shape(cfg, model::Linear(i));
      (*grads)[l][i].resize(sh.out * sh.in);
      dw[i] = (*grads)[l][i].data();
    }
    block_.backward(block_weights(model_, l), acts_[l], dx_.data(), l ? dprev_.data() : nullptr, dw,
                    out_sq ? &(*out_sq)[l] : nullptr);
    std::swap(dx_, dprev_);
  }
  return nll / double(n_pred);
}

}  // namespace bitlens::train
