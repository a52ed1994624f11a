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

}  // namespace bitlens::model
