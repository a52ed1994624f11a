// Size accounting and the effective weight of a PackedLinear.
#include "quant/packed_linear.h"

#include <string>

#include "common/error.h"
#include "common/fp16.h"
#include "quant/hadamard.h"

namespace bitlens::quant {

uint64_t PackedLinear::stored_bytes() const {
  uint64_t b = (weight.layout.code_words() + weight.layout.param_words()) * 4;
  if (rotation.input) b += rotation.input_signs.size() * 4;
  if (rotation.output) b += rotation.output_signs.size() * 4;
  b += (lora_a.size() + lora_b.size()) * 2;
  if (lora_rank) b += 4;  // lora_scale
  return b;
}

std::vector<float> effective_weight(const PackedLinear& lin) {
  const uint32_t rows = lin.weight.layout.rows, cols = lin.weight.layout.cols;
  std::vector<float> w = dequantize(lin.weight);  // W_hat [rows x cols]
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
  // (M V) row r = (V^T M_r^T)^T and V^T = V^-1: rotate_inverse each row.
  if (lin.rotation.input)
    for (uint32_t r = 0; r < rows; ++r) rotate_inverse({&w[size_t(r) * cols], cols}, lin.rotation.input_signs);
  // U^-1 M: rotate_inverse each column.
  if (lin.rotation.output) {
    std::vector<float> col(rows);
    for (uint32_t c = 0; c < cols; ++c) {
      for (uint32_t r = 0; r < rows; ++r) col[r] = w[size_t(r) * cols + c];
      rotate_inverse(col, lin.rotation.output_signs);
      for (uint32_t r = 0; r < rows; ++r) w[size_t(r) * cols + c] = col[r];
    }
  }
  return w;
}

}  // namespace bitlens::quant
