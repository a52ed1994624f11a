// Random in-memory models.
#include "inspect/synthetic_model.h"

#include <cmath>
#include <memory>
#include <random>
#include <vector>

namespace bitlens::inspect {

model::ModelConfig small_config() {
  model::ModelConfig c;
  c.dim = 64;
  c.hidden_dim = 192;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 4;
  c.vocab_size = 96;
  c.seq_len = 64;
  return c;
}

model::Model synthetic_model(const model::ModelConfig& c, uint64_t seed) {
  auto storage = std::make_shared<std::vector<std::vector<float>>>();
  storage->reserve(3 + size_t(c.n_layers) * 9);
  std::mt19937_64 rng(seed);
  auto matrix = [&](uint32_t rows, uint32_t cols, bool ones) {
    std::normal_distribution<float> nd(0.0f, 1.0f / std::sqrt(float(cols)));
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    auto& v = storage->emplace_back(size_t(rows) * cols);
    for (auto& x : v) {
      x = ones ? 1.0f : nd(rng);
      if (!ones && u(rng) < 0.002f) x *= 8.0f;  // rare outliers, as trained weights have
    }
    return model::Matrix{v.data(), rows, cols};
  };
  model::Model m;
  m.config = c;
  m.source = "synthetic (seed " + std::to_string(seed) + ")";
  m.weights.token_embedding = matrix(c.vocab_size, c.dim, false);
  for (uint32_t l = 0; l < c.n_layers; ++l) {
    model::LayerWeights w;
    w.rms_att = matrix(1, c.dim, true);
    w.wq = matrix(c.dim, c.dim, false);
    w.wk = matrix(c.kv_dim(), c.dim, false);
    w.wv = matrix(c.kv_dim(), c.dim, false);
    w.wo = matrix(c.dim, c.dim, false);
    w.rms_ffn = matrix(1, c.dim, true);
    w.w1 = matrix(c.hidden_dim, c.dim, false);
    w.w2 = matrix(c.dim, c.hidden_dim, false);
    w.w3 = matrix(c.hidden_dim, c.dim, false);
    m.weights.layers.push_back(w);
  }
  m.weights.rms_final = matrix(1, c.dim, true);
  m.weights.classifier = m.weights.token_embedding;
  m.storage = storage;
  return m;
}

}  // namespace bitlens::inspect
