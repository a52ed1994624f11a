// Random weights with trained-model-like scales: N(0, 1/sqrt(in)) matrices, norms near 1.
#include "synthetic_model.h"

#include <cmath>
#include <memory>
#include <random>
#include <vector>

namespace bitlens::test {

model::ModelConfig small_config() {
  model::ModelConfig c;
  c.dim = 64;
  c.hidden_dim = 160;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.vocab_size = 96;
  c.seq_len = 32;
  return c;
}

model::Model synthetic_model(const model::ModelConfig& c, uint64_t seed) {
  struct Storage {
    std::vector<std::vector<float>> blocks;
  };
  auto storage = std::make_shared<Storage>();
  storage->blocks.reserve(4 + size_t(c.n_layers) * 9);
  std::mt19937_64 rng(seed);
  auto matrix = [&](uint32_t rows, uint32_t cols, float mean, float stddev) {
    std::normal_distribution<float> nd(mean, stddev);
    auto& v = storage->blocks.emplace_back(size_t(rows) * cols);
    for (auto& x : v) x = nd(rng);
    return model::Matrix{v.data(), rows, cols};
  };
  model::Model m;
  m.config = c;
  m.source = "synthetic";
  auto& w = m.weights;
  w.token_embedding = matrix(c.vocab_size, c.dim, 0.0f, 1.0f);
  for (uint32_t i = 0; i < c.n_layers; ++i) {
    model::LayerWeights l;
    const float sd = 1.0f / std::sqrt(float(c.dim)), sh = 1.0f / std::sqrt(float(c.hidden_dim));
    l.rms_att = matrix(1, c.dim, 1.0f, 0.1f);
    l.wq = matrix(c.dim, c.dim, 0.0f, sd);
    l.wk = matrix(c.kv_dim(), c.dim, 0.0f, sd);
    l.wv = matrix(c.kv_dim(), c.dim, 0.0f, sd);
    l.wo = matrix(c.dim, c.dim, 0.0f, sd);
    l.rms_ffn = matrix(1, c.dim, 1.0f, 0.1f);
    l.w1 = matrix(c.hidden_dim, c.dim, 0.0f, sd);
    l.w2 = matrix(c.dim, c.hidden_dim, 0.0f, sh);
    l.w3 = matrix(c.hidden_dim, c.dim, 0.0f, sd);
    w.layers.push_back(l);
  }
  w.rms_final = matrix(1, c.dim, 1.0f, 0.1f);
  w.classifier = c.shared_classifier ? w.token_embedding : matrix(c.vocab_size, c.dim, 0.0f, 1.0f / std::sqrt(float(c.dim)));
  m.storage = storage;
  return m;
}

}  // namespace bitlens::test
