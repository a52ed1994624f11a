// Accumulation of squared per-sequence gradients (see gradient_saliency.h).
#include "train/gradient_saliency.h"

#include "common/error.h"
#include "common/parallel.h"

namespace bitlens::train {

GradientSaliency gradient_saliency(const model::Model& model, std::span<const uint32_t> tokens, size_t seq_len,
                                   const std::function<void(size_t, size_t)>& progress) {
  if (seq_len < 2 || tokens.empty() || tokens.size() % seq_len)
    throw Error("gradient saliency: " + std::to_string(tokens.size()) + " tokens do not make sequences of " +
                std::to_string(seq_len));
  const size_t n = tokens.size() / seq_len;
  LmGradient lm(model);
  GradientSaliency s;
  LinearGradients g;
  double loss = 0.0;
  for (size_t i = 0; i < n; ++i) {
    loss += lm.loss(tokens.subspan(i * seq_len, seq_len), {1, seq_len}, &g);
    if (s.squared.empty()) {
      s.squared.resize(g.size());
      for (size_t l = 0; l < g.size(); ++l)
        for (uint32_t k = 0; k < model::kLinearsPerLayer; ++k) s.squared[l][k].assign(g[l][k].size(), 0.0f);
    }
    for (size_t l = 0; l < g.size(); ++l)
      for (uint32_t k = 0; k < model::kLinearsPerLayer; ++k) {
        float* acc = s.squared[l][k].data();
        const float* gk = g[l][k].data();
        parallel_for(g[l][k].size(), [&](size_t a, size_t b) {
          for (size_t j = a; j < b; ++j) acc[j] += gk[j] * gk[j];
        }, 1 << 14);
      }
    if (progress) progress(i + 1, n);
  }
  s.sequences = n;
  s.mean_loss = loss / double(n);
  return s;
}

}  // namespace bitlens::train
