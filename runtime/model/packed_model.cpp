// Plain (round-to-nearest) packing of a whole model and honest size accounting.
#include "model/packed_model.h"

#include "common/error.h"

namespace bitlens::model {

static uint64_t matrix_bytes(const quant::PackedMatrix& m) { return (m.layout.code_words() + m.layout.param_words()) * 4; }

uint64_t PackedModel::stored_bytes() const {
  uint64_t b = matrix_bytes(token_embedding) + rms_final.size() * 4;
  if (classifier) b += matrix_bytes(*classifier);
  for (const auto& l : layers) {
    b += (l.rms_att.size() + l.rms_ffn.size()) * 4;
    for (const auto& lin : l.linears) b += lin.stored_bytes();
  }
  return b;
}

double PackedModel::linear_bpw() const {
  uint64_t bytes = 0, weights = 0;
  for (const auto& l : layers)
    for (const auto& lin : l.linears) {
      bytes += lin.stored_bytes();
      weights += uint64_t(lin.weight.layout.rows) * lin.weight.layout.cols;
    }
  return weights ? double(bytes) * 8.0 / double(weights) : 0.0;
}

double PackedModel::model_bpw() const {
  uint64_t weights = uint64_t(token_embedding.layout.rows) * token_embedding.layout.cols + rms_final.size();
  if (classifier) weights += uint64_t(classifier->layout.rows) * classifier->layout.cols;
  for (const auto& l : layers) {
    weights += l.rms_att.size() + l.rms_ffn.size();
    for (const auto& lin : l.linears) weights += uint64_t(lin.weight.layout.rows) * lin.weight.layout.cols;
  }
  return double(stored_bytes()) * 8.0 / double(weights);
}

quant::PackedMatrix pack_matrix(const Matrix& m, quant::Format format, uint32_t group_size) {
  if (quant::format_info(format).grouped)
    return quant::pack(quant::quantize_rtn(m.span(), m.rows, m.cols, quant::format_info(format).bits, group_size));
  return quant::pack_float(m.span(), m.rows, m.cols, format);
}

PackedModel pack_model(const Model& model, const PackOptions& o) {
  PackedModel p;
  p.config = model.config;
  const auto& w = model.weights;
  p.token_embedding = pack_matrix(w.token_embedding, o.embedding_format, o.embedding_group_size);
  if (w.classifier.data != w.token_embedding.data)
    p.classifier = pack_matrix(w.classifier, o.embedding_format, o.embedding_group_size);
  for (const auto& lw : w.layers) {
    PackedLayer l;
    l.rms_att.assign(lw.rms_att.span().begin(), lw.rms_att.span().end());
    l.rms_ffn.assign(lw.rms_ffn.span().begin(), lw.rms_ffn.span().end());
    for (uint32_t i = 0; i < kLinearsPerLayer; ++i)
      l.linears[i].weight = pack_matrix(lw.linear(Linear(i)), o.linear_format, o.group_size);
    p.layers.push_back(std::move(l));
  }
  p.rms_final.assign(w.rms_final.span().begin(), w.rms_final.span().end());
  return p;
}

}  // namespace bitlens::model
