// The training block and full-model loss: forwards against token-by-token inference with the ops
// of model/cpu_ops.h (KV cache, one position at a time), backwards against finite differences.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "grad_check.h"
#include "gpu_test.h"
#include "model/cpu_ops.h"
#include "synthetic_model.h"
#include "train/block.h"
#include "train/lm_gradient.h"

using namespace bitlens;
using namespace bitlens::train;
using model::Linear;

namespace {

// One sequence through layer `layer` the way inference runs it: position by position with a cache.
std::vector<float> reference_block(const model::Model& m, size_t layer, const float* x, size_t seq_len) {
  const model::ModelConfig& c = m.config;
  const model::LayerWeights& w = m.weights.layers[layer];
  const size_t dim = c.dim, kvd = c.kv_dim();
  std::vector<float> kc(seq_len * kvd), vc(seq_len * kvd), y(seq_len * dim);
  std::vector<float> n(dim), q(dim), att(dim), o(dim), h(dim), g(c.hidden_dim), u(c.hidden_dim), f(dim), scratch(seq_len);
  for (size_t p = 0; p < seq_len; ++p) {
    std::span<const float> xp{x + p * dim, dim};
    model::rmsnorm(n, xp, w.rms_att.span(), c.norm_eps);
    model::matvec(q, w.wq, n);
    model::matvec({&kc[p * kvd], kvd}, w.wk, n);
    model::matvec({&vc[p * kvd], kvd}, w.wv, n);
    model::rope(q, uint32_t(p), c.head_dim(), c.rope_theta);
    model::rope({&kc[p * kvd], kvd}, uint32_t(p), c.head_dim(), c.rope_theta);
    model::attention(att, q, kc, vc, uint32_t(p), c.n_heads, c.n_kv_heads, c.head_dim(), scratch);
    model::matvec(o, w.wo, att);
    for (size_t i = 0; i < dim; ++i) h[i] = xp[i] + o[i];
    model::rmsnorm(n, h, w.rms_ffn.span(), c.norm_eps);
    model::matvec(g, w.w1, n);
    model::matvec(u, w.w3, n);
    model::swiglu(g, u);
    model::matvec(f, w.w2, g);
    for (size_t i = 0; i < dim; ++i) y[p * dim + i] = h[i] + f[i];
  }
  return y;
}

// Mean next-token loss of one sequence by token-by-token inference.
double reference_loss(const model::Model& m, std::span<const uint32_t> tokens) {
  const size_t dim = m.config.dim, S = tokens.size();
  std::vector<float> x(S * dim);
  for (size_t t = 0; t < S; ++t) std::memcpy(&x[t * dim], m.weights.token_embedding.row(tokens[t]), dim * 4);
  for (size_t l = 0; l < m.config.n_layers; ++l) x = reference_block(m, l, x.data(), S);
  double nll = 0.0;
  std::vector<float> n(dim), logits(m.config.vocab_size);
  for (size_t t = 0; t + 1 < S; ++t) {
    model::rmsnorm(n, {&x[t * dim], dim}, m.weights.rms_final.span(), m.config.norm_eps);
    model::matvec(logits, m.weights.classifier, n);
    model::softmax(logits);
    nll -= std::log(double(logits[tokens[t + 1]]));
  }
  return nll / double(S - 1);
}

// Writable copies of a block's weights, so tests can perturb them.
struct MutableBlock {
  std::array<std::vector<float>, model::kLinearsPerLayer> w;
  BlockWeights view;
  MutableBlock(const model::Model& m, size_t layer) : view(block_weights(m, layer)) {
    for (uint32_t i = 0; i < model::kLinearsPerLayer; ++i) {
      const model::Matrix& mat = m.weights.layers[layer].linear(Linear(i));
      w[i].assign(mat.span().begin(), mat.span().end());
      view.linear[i] = w[i].data();
    }
  }
};

}  // namespace

TEST(TrainBlock, ForwardMatchesTokenByTokenInference) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const model::Model m = test::synthetic_model(test::small_config(), seed);
  const BatchShape shape{3, m.config.seq_len};
  const auto x = test::random_normal(shape.tokens() * m.config.dim, seed + 1);
  std::vector<float> y(x.size());
  const Block block(m.config);
  BlockActivations acts;
  for (size_t layer = 0; layer < m.config.n_layers; ++layer) {
    block.forward(block_weights(m, layer), shape, x.data(), y.data(), acts);
    for (size_t s = 0; s < shape.n_seq; ++s) {
      const size_t off = s * shape.seq_len * m.config.dim;
      const auto ref = reference_block(m, layer, &x[off], shape.seq_len);
      for (size_t i = 0; i < ref.size(); ++i)
        ASSERT_NEAR(y[off + i], ref[i], 2e-5f * (1.0f + std::abs(ref[i]))) << "layer " << layer << " seq " << s;
    }
  }
}

TEST(TrainBlock, BackwardMatchesFiniteDifferences) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const model::Model m = test::synthetic_model(test::small_config(), seed);
  const BatchShape shape{2, 12};
  auto x = test::random_normal(shape.tokens() * m.config.dim, seed + 1);
  const auto r = test::random_normal(x.size(), seed + 2);
  MutableBlock mb(m, 1);
  const Block block(m.config);
  std::vector<float> y(x.size()), dx(x.size());
  std::array<std::vector<float>, model::kLinearsPerLayer> dw;
  std::array<float*, model::kLinearsPerLayer> dwp{};
  for (uint32_t i = 0; i < model::kLinearsPerLayer; ++i) {
    dw[i].resize(mb.w[i].size());
    dwp[i] = dw[i].data();
  }
  BlockActivations acts;
  block.forward(mb.view, shape, x.data(), y.data(), acts);
  block.backward(mb.view, acts, r.data(), dx.data(), dwp);
  BlockActivations scratch;
  const auto loss = [&] {
    block.forward(mb.view, shape, x.data(), y.data(), scratch);
    return test::weighted_sum(y, r);
  };
  // Tolerance: fp32 forward of a whole block at step 1e-2 (truncation ~ eps^2 curvature).
  test::check_gradient(x, dx, loss, 1e-2f, 5e-3, seed, "block dx");
  for (uint32_t i = 0; i < model::kLinearsPerLayer; ++i)
    test::check_gradient(mb.w[i], dw[i], loss, 1e-2f, 5e-3, seed + i, std::string("block d") + model::linear_name(Linear(i)));
}

TEST(TrainLm, LossMatchesInferenceAndGradientMatchesFiniteDifferences) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  model::Model m = test::synthetic_model(test::small_config(), seed).clone();
  const size_t S = 16;
  std::vector<uint32_t> tokens(2 * S);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = uint32_t((seed >> (i % 50)) * 2654435761u + i) % m.config.vocab_size;
  LmGradient lm(m);
  LinearGradients g;
  const double loss = lm.loss(tokens, {2, S}, &g);
  const double ref = 0.5 * (reference_loss(m, {tokens.data(), S}) + reference_loss(m, {tokens.data() + S, S}));
  EXPECT_NEAR(loss, ref, 1e-5 * ref);
  EXPECT_NEAR(lm.loss(tokens, {2, S}, nullptr), loss, 1e-12);
  // Perturb the weights in place (the clone owns them) and compare with the analytic gradient. The
  // loss is a mean computed in fp32: about 1e-6 of it is noise, divided by the step 2 eps.
  const double noise = 1e-6 * loss / 2e-2;
  for (size_t layer = 0; layer < m.config.n_layers; ++layer)
    for (Linear l : {Linear::Wq, Linear::Wv, Linear::W2}) {
      float* w = const_cast<float*>(m.weights.layers[layer].linear(l).data);
      const size_t n = g[layer][uint32_t(l)].size();
      std::vector<float> wv(w, w + n);
      test::check_gradient(wv, g[layer][uint32_t(l)], [&] {
        std::memcpy(w, wv.data(), n * 4);
        return lm.loss(tokens, {2, S}, nullptr);
      }, 1e-2f, 5e-3, seed + layer, "lm d" + std::string(model::linear_name(l)) + " layer " + std::to_string(layer), 4,
                           noise);
      std::memcpy(w, wv.data(), n * 4);
    }
}
