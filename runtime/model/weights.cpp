// Linear-layer names, Model copies and parameter counts.
#include "model/weights.h"

#include <cstring>

#include "common/error.h"

namespace bitlens::model {

const char* linear_name(Linear l) {
  static const char* names[] = {"wq", "wk", "wv", "wo", "w1", "w2", "w3"};
  return names[uint32_t(l)];
}

const Matrix& LayerWeights::linear(Linear l) const {
  switch (l) {
    case Linear::Wq: return wq;
    case Linear::Wk: return wk;
    case Linear::Wv: return wv;
    case Linear::Wo: return wo;
    case Linear::W1: return w1;
    case Linear::W2: return w2;
    case Linear::W3: return w3;
  }
  throw Error("unknown linear layer");
}

namespace {

struct OwnedFloats {
  std::vector<std::vector<float>> blocks;
};

Matrix copy_into(OwnedFloats& owned, const Matrix& m) {
  owned.blocks.emplace_back(m.span().begin(), m.span().end());
  return {owned.blocks.back().data(), m.rows, m.cols};
}

}  // namespace

Model Model::clone() const {
  auto owned = std::make_shared<OwnedFloats>();
  owned->blocks.reserve(4 + weights.layers.size() * 9);
  Model m;
  m.config = config;
  m.source = source;
  m.weights.token_embedding = copy_into(*owned, weights.token_embedding);
  for (const auto& l : weights.layers) {
    LayerWeights c;
    c.rms_att = copy_into(*owned, l.rms_att);
    c.wq = copy_into(*owned, l.wq);
    c.wk = copy_into(*owned, l.wk);
    c.wv = copy_into(*owned, l.wv);
    c.wo = copy_into(*owned, l.wo);
    c.rms_ffn = copy_into(*owned, l.rms_ffn);
    c.w1 = copy_into(*owned, l.w1);
    c.w2 = copy_into(*owned, l.w2);
    c.w3 = copy_into(*owned, l.w3);
    m.weights.layers.push_back(c);
  }
  m.weights.rms_final = copy_into(*owned, weights.rms_final);
  m.weights.classifier = weights.classifier.data == weights.token_embedding.data
                             ? m.weights.token_embedding
                             : copy_into(*owned, weights.classifier);
  m.storage = owned;
  return m;
}

uint64_t Model::parameter_count() const {
  uint64_t n = weights.token_embedding.span().size() + weights.rms_final.span().size();
  if (weights.classifier.data != weights.token_embedding.data) n += weights.classifier.span().size();
  for (const auto& l : weights.layers)
    for (const Matrix* m : {&l.rms_att, &l.wq, &l.wk, &l.wv, &l.wo, &l.rms_ffn, &l.w1, &l.w2, &l.w3})
      n += m->span().size();
  return n;
}

void check_shapes(const Model& m, const std::string& what) {
  const ModelConfig& c = m.config;
  validate(c, what);
  auto expect = [&](const Matrix& x, uint32_t rows, uint32_t cols, const std::string& name) {
    if (!x.data || x.rows != rows || x.cols != cols)
      throw FileError(what, name + " is " + std::to_string(x.rows) + "x" + std::to_string(x.cols) + ", expected " +
                  std::to_string(rows) + "x" + std::to_string(cols));
  };
  const ModelWeights& w = m.weights;
  if (w.layers.size() != c.n_layers)
    throw FileError(what, std::to_string(w.layers.size()) + " layers, expected " + std::to_string(c.n_layers));
  expect(w.token_embedding, c.vocab_size, c.dim, "token embedding");
  expect(w.classifier, c.vocab_size, c.dim, "classifier");
  expect(w.rms_final, 1, c.dim, "final norm");
  for (uint32_t i = 0; i < c.n_layers; ++i) {
    const LayerWeights& l = w.layers[i];
    const std::string p = "layer " + std::to_string(i) + " ";
    expect(l.rms_att, 1, c.dim, p + "attention norm");
    expect(l.rms_ffn, 1, c.dim, p + "ffn norm");
    expect(l.wq, c.dim, c.dim, p + "wq");
    expect(l.wk, c.kv_dim(), c.dim, p + "wk");
    expect(l.wv, c.kv_dim(), c.dim, p + "wv");
    expect(l.wo, c.dim, c.dim, p + "wo");
    expect(l.w1, c.hidden_dim, c.dim, p + "w1");
    expect(l.w2, c.dim, c.hidden_dim, p + "w2");
    expect(l.w3, c.hidden_dim, c.dim, p + "w3");
  }
}

}  // namespace bitlens::model
