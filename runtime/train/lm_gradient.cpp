// Full-model loss and backward (see lm_gradient.h).
#include "train/lm_gradient.h"

#include <cstring>

#include "common/error.h"
#include "train/gemm.h"

namespace bitlens::train {

LmGradient::LmGradient(const model::Model& model) : model_(model), block_(model.config) {
  const model::Matrix& c = model.weights.classifier;
  classifier_t_.resize(size_t(c.rows) * c.cols);
  transpose(c.data, c.rows, c.cols, classifier_t_.data());
}

double LmGradient::loss(std::span<const uint32_t> tokens, BatchShape shape, LinearGradients* grads) {
  const model::ModelConfig& cfg = model_.config;
  const size_t T = shape.tokens(), dim = cfg.dim, vocab = cfg.vocab_size, L = cfg.n_layers;
  if (tokens.size() != T || shape.seq_len < 2) throw Error("lm loss: need sequences of at least 2 tokens");
  // Forward: embedding, blocks (keeping activations), final norm, classifier.
  std::vector<std::vector<float>> xs(L + 1, std::vector<float>(T * dim));
  for (size_t t = 0; t < T; ++t) {
    if (tokens[t] >= vocab) throw Error("lm loss: token " + std::to_string(tokens[t]) + " outside the vocabulary");
    std::memcpy(&xs[0][t * dim], model_.weights.token_embedding.row(tokens[t]), dim * sizeof(float));
  }
  std::vector<BlockActivations> acts(grads ? L : 0);
  for (size_t l = 0; l < L; ++l)
    block_.forward(block_weights(model_, l), shape, xs[l].data(), xs[l + 1].data(), grads ? &acts[l] : nullptr);
  std::vector<float> xf(T * dim), inv(T), logits(T * vocab);
  rmsnorm_forward(xs[L].data(), model_.weights.rms_final.data, T, dim, cfg.norm_eps, xf.data(), inv.data());
  gemm(T, vocab, dim, xf.data(), dim, classifier_t_.data(), vocab, logits.data(), vocab, false);

  // Cross-entropy of positions 0..seq_len-2 of every sequence; the last position has no target.
  const size_t S = shape.seq_len, n_pred = shape.n_seq * (S - 1);
  std::vector<float> dlogits(grads ? T * vocab : 0, 0.0f);
  double nll = 0.0;
  for (size_t s = 0; s < shape.n_seq; ++s)
    nll += cross_entropy(&logits[s * S * vocab], tokens.subspan(s * S + 1, S - 1), vocab,
                         grads ? &dlogits[s * S * vocab] : nullptr, 1.0f / float(n_pred));
  if (!grads) return nll / double(n_pred);

  // Backward: classifier (frozen), final norm, blocks in reverse.
  std::vector<float> dxf(T * dim), dx(T * dim), dprev(T * dim);
  gemm(T, dim, vocab, dlogits.data(), vocab, model_.weights.classifier.data, dim, dxf.data(), dim, false);
  rmsnorm_backward(xs[L].data(), model_.weights.rms_final.data, inv.data(), dxf.data(), T, dim, dx.data());
  grads->resize(L);
  for (size_t l = L; l-- > 0;) {
    std::array<float*, model::kLinearsPerLayer> dw{};
    for (uint32_t i = 0; i < model::kLinearsPerLayer; ++i) {
      const LinearShape sh = linear_shape(cfg, model::Linear(i));
      (*grads)[l][i].resize(sh.out * sh.in);
      dw[i] = (*grads)[l][i].data();
    }
    block_.backward(block_weights(model_, l), acts[l], dx.data(), l ? dprev.data() : nullptr, dw);
    std::swap(dx, dprev);
  }
  return nll / double(n_pred);
}

}  // namespace bitlens::train
