// Dequantizing a PackedModel into a dense Model (see float_model.h).
#include "model/float_model.h"

#include "common/error.h"
#include "common/fp16.h"
#include "quant/hadamard.h"

namespace bitlens::model {

std::vector<float> effective_weight(const PackedLinear& lin) {
  const uint32_t rows = lin.weight.layout.rows, cols = lin.weight.layout.cols;
  std::vector<float> w = quant::dequantize(lin.weight);  // W_hat [rows x cols]
  if (lin.lora_rank) {
    const uint32_t k = lin.lora_rank;
    if (lin.lora_a.size() != size_t(k) * cols || lin.lora_b.size() != size_t(rows) * k)
      throw Error("LoRA factors of rank " + std::to_string(k) + " do not fit " + lin.weight.layout.describe());
    std::vector<float> a(lin.lora_a.size());
    for (size_t i = 0; i < a.size(); ++i) a[i] = half_to_float(lin.lora_a[i]);
    for (uint32_t r = 0; r < rows; ++r)
      for (uint32_t j = 0; j < k; ++j) {
        const float b = lin.lora_scale * half_to_float(lin.lora_b[size_t(r) * k + j]);
        const float* aj = &a[size_t(j) * cols];
        float* wr = &w[size_t(r) * cols];
        for (uint32_t c = 0; c < cols; ++c) wr[c] += b * aj[c];
      }
  }
  // (M R_in) row r = (R_in^T M_r^T)^T and R_in^T = R_in^-1: rotate_inverse each row.
  if (lin.has_input_rotation)
    for (uint32_t r = 0; r < rows; ++r) quant::rotate_inverse({&w[size_t(r) * cols], cols}, lin.input_signs);
  // R_out^-1 M: rotate_inverse each column.
  if (lin.has_output_rotation) {
    std::vector<float> col(rows);
    for (uint32_t c = 0; c < cols; ++c) {
      for (uint32_t r = 0; r < rows; ++r) col[r] = w[size_t(r) * cols + c];
      quant::rotate_inverse(col, lin.output_signs);
      for (uint32_t r = 0; r < rows; ++r) w[size_t(r) * cols + c] = col[r];
    }
  }
  return w;
}

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
      const PackedLinear& lin = pl.linears[i];
      *targets[i] = owned->add(effective_weight(lin), lin.weight.layout.rows, lin.weight.layout.cols);
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
