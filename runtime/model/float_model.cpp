// Dequantizing a PackedModel into a dense Model (see float_model.h).
#include "model/float_model.h"

#include "common/error.h"

namespace bitlens::model {

namespace {

struct OwnedFloats {
  std::vector<std::vector<float>> blocks;
  Matrix add(std::vector<float> v, uint32_t rows, uint32_t cols) {
    if (v.size() != size_t(rows) * cols) throw Error("to_float_model: a tensor has the wrong size");
    return {blocks.emplace_back(std::move(v)).data(), rows, cols};
  }
  Matrix add(const quant::PackedMatrix& m) { return add(quant::dequantize(m), m.layout.rows, m.layout.cols); }
  Matrix add(const std::vector<float>& v) { return add(v, 1, uint32_t(v.size())); }
};

}  // namespace

Model to_float_model(const PackedModel& packed) {
  auto owned = std::make_shared<OwnedFloats>();
  Model m;
  m.config = packed.config;
  m.source = "packed model";
  m.weights.token_embedding = owned->add(packed.token_embedding);
  for (const PackedLayer& pl : packed.layers) {
    LayerWeights l;
    l.rms_att = owned->add(pl.rms_att);
    l.rms_ffn = owned->add(pl.rms_ffn);
    Matrix* targets[kLinearsPerLayer] = {&l.wq, &l.wk, &l.wv, &l.wo, &l.w1, &l.w2, &l.w3};
    for (uint32_t i = 0; i < kLinearsPerLayer; ++i) {
      const quant::PackedLinear& lin = pl.linears[i];
      *targets[i] = owned->add(quant::effective_weight(lin), lin.weight.layout.rows, lin.weight.layout.cols);
    }
    m.weights.layers.push_back(l);
  }
  m.weights.rms_final = owned->add(packed.rms_final);
  m.weights.classifier = packed.classifier ? owned->add(*packed.classifier) : m.weights.token_embedding;
  m.config.shared_classifier = !packed.classifier;
  m.storage = owned;
  check_shapes(m, m.source);
  return m;
}

}  // namespace bitlens::model
