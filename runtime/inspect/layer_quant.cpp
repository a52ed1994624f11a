// Rotation and round-to-nearest quantization of one layer for the inspector.
#include "inspect/layer_quant.h"

#include "common/error.h"
#include "model/float_model.h"
#include "quant/hadamard.h"
#include "quant/packing.h"

namespace bitlens::inspect {

RotationSigns rotation_signs(uint32_t rows, uint32_t cols, uint64_t seed) {
  return {quant::random_sign_bits(cols, seed * 2 + 1), quant::random_sign_bits(rows, seed * 2 + 2)};
}

namespace {

// Applies fn(column) to every column of a row-major [rows x cols] matrix in place.
template <class Fn>
void for_each_column(std::vector<float>& m, uint32_t rows, uint32_t cols, Fn fn) {
  std::vector<float> col(rows);
  for (uint32_t c = 0; c < cols; ++c) {
    for (uint32_t r = 0; r < rows; ++r) col[r] = m[size_t(r) * cols + c];
    fn(std::span<float>(col));
    for (uint32_t r = 0; r < rows; ++r) m[size_t(r) * cols + c] = col[r];
  }
}

}  // namespace

std::vector<float> rotate_weights(const model::Matrix& w, const RotationSigns& signs) {
  std::vector<float> m(w.span().begin(), w.span().end());
  for (uint32_t r = 0; r < w.rows; ++r) quant::rotate({m.data() + size_t(r) * w.cols, w.cols}, signs.input);
  for_each_column(m, w.rows, w.cols, [&](std::span<float> col) { quant::rotate(col, signs.output); });
  return m;
}

QuantizedLayer quantize_layer(const model::Matrix& w, const LayerChoice& choice, uint64_t seed) {
  if (const std::string p = choice_problem(choice, w.rows, w.cols); !p.empty()) throw Error(p);
  QuantizedLayer out;
  out.choice = choice;
  out.bpw = choice_bpw(choice, w.rows, w.cols);
  RotationSigns signs;
  std::vector<float> domain;
  if (choice.rotate) {
    signs = rotation_signs(w.rows, w.cols, seed);
    domain = rotate_weights(w, signs);
  } else {
    domain.assign(w.span().begin(), w.span().end());
  }
  if (choice.grouped()) {
    out.codes = quant::quantize_rtn(domain, w.rows, w.cols, choice.bits(), choice.group_size);
    out.quantized = quant::dequantize(*out.codes);
    out.packed.weight = quant::pack(*out.codes);
  } else {
    out.packed.weight = quant::pack_float(domain, w.rows, w.cols, choice.format);
    out.quantized = quant::dequantize(out.packed.weight);
  }
  if (choice.rotate) {
    out.packed.has_input_rotation = out.packed.has_output_rotation = true;
    out.packed.input_signs = std::move(signs.input);
    out.packed.output_signs = std::move(signs.output);
    out.restored = model::effective_weight(out.packed);
  } else {
    out.restored = out.quantized;
  }
  return out;
}

}  // namespace bitlens::inspect
