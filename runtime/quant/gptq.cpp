// The GPTQ column walk.
#include "quant/gptq.h"

#include <algorithm>

#include "common/error.h"
#include "common/parallel.h"
#include "quant/clip_search.h"
#include "quant/linalg.h"

namespace bitlens::quant {

namespace {

// One row's walk; `row` holds the row's weights (updated in place), codes and params are written.
void gptq_row(std::vector<double>& row, const std::vector<double>& u, uint32_t cols, const GptqOptions& o,
              QuantizedMatrix& m, uint32_t r) {
  std::vector<double> err(o.block);
  std::vector<float> grp(o.group_size);
  QParams p{1.0f, 0.0f};
  for (uint32_t b0 = 0; b0 < cols; b0 += o.block) {
    const uint32_t b1 = std::min(cols, b0 + o.block);
    for (uint32_t j = b0; j < b1; ++j) {
      if (j % o.group_size == 0) {
        const uint32_t g1 = std::min(cols, j + o.group_size);
        for (uint32_t c = j; c < g1; ++c) grp[c - j] = float(row[c]);
        const std::span<const float> g(grp.data(), g1 - j);
        p = o.clip_search ? search_clip(g, {}, o.bits) : choose_qparams(g, o.bits);
        set_params(m, r, j / o.group_size, p);
      }
      const uint8_t q = quantize_value(float(row[j]), p, o.bits);
      m.codes[size_t(r) * cols + j] = q;
      const double* uj = &u[size_t(j) * cols];
      const double e = (row[j] - double(dequantize_value(q, p))) / uj[j];
      err[j - b0] = e;
      for (uint32_t k = j + 1; k < b1; ++k) row[k] -= e * uj[k];
    }
    for (uint32_t j = b0; j < b1; ++j) {
      const double e = err[j - b0];
      const double* uj = &u[size_t(j) * cols];
      for (uint32_t k = b1; k < cols; ++k) row[k] -= e * uj[k];
    }
  }
}

}  // namespace

QuantizedMatrix quantize_gptq(std::span<const float> w, uint32_t rows, uint32_t cols,
                              const std::vector<double>& hessian, const GptqOptions& o) {
  if (w.size() != size_t(rows) * cols)
    throw Error("quantize_gptq: got " + std::to_string(w.size()) + " weights for a " + std::to_string(rows) + "x" +
                std::to_string(cols) + " matrix");
  if (hessian.size() != size_t(cols) * cols)
    throw Error("quantize_gptq: the Hessian must be " + std::to_string(cols) + "x" + std::to_string(cols));
  if (o.group_size == 0 || o.block == 0 || o.block % o.group_size != 0)
    throw Error("quantize_gptq: the block (" + std::to_string(o.block) + ") must be a multiple of the group size (" +
                std::to_string(o.group_size) + ")");
  QuantizedMatrix m = make_quantized(rows, cols, o.bits, o.group_size);
  std::vector<bool> dead(cols);
  for (uint32_t j = 0; j < cols; ++j) dead[j] = hessian[size_t(j) * cols + j] == 0.0;
  const std::vector<double> u = upper_cholesky_of_inverse(damped(hessian, cols, o.damp), cols);
  parallel_for(rows, [&](size_t r0, size_t r1) {
    std::vector<double> row(cols);
    for (size_t r = r0; r < r1; ++r) {
      for (uint32_t j = 0; j < cols; ++j) row[j] = dead[j] ? 0.0 : double(w[r * cols + j]);
      gptq_row(row, u, cols, o, m, uint32_t(r));
    }
  });
  return m;
}

}  // namespace bitlens::quant
