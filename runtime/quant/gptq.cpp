// The GPTQ column walk.
#include "quant/gptq.h"

#include <algorithm>

#include "common/error.h"
#include "common/parallel.h"
#include "quant/clip_search.h"
#include "quant/linalg.h"

namespace bitlens::quant {

namespace {

// One row's walk; `row` holds the row's weights (updated in place).
void gptq_row(std::vector<double>& row, const std::vector<double>& u, uint32_t cols, const GptqWalk& o, uint32_t r,
              uint8_t* codes, QParams* params) {
  std::vector<double> err(o.block);
  std::vector<float> grp(o.group_size);
  QParams p{1.0f, 0.0f};
  uint32_t bits = 0;
  for (uint32_t b0 = 0; b0 < cols; b0 += o.block) {
    const uint32_t b1 = std::min(cols, b0 + o.block);
    for (uint32_t j = b0; j < b1; ++j) {
      if (j % o.group_size == 0) {
        const uint32_t g1 = std::min(cols, j + o.group_size);
        for (uint32_t c = j; c < g1; ++c) grp[c - j] = float(row[c]);
        bits = o.group_bits[j / o.group_size];
        p = o.choose(std::span<const float>(grp.data(), g1 - j), bits, r, j);
        params[j / o.group_size] = p;
      }
      const uint8_t q = quantize_value(float(row[j]), p, bits);
      codes[j] = q;
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

GptqCodes gptq_walk(std::span<const float> w, uint32_t rows, uint32_t cols, const std::vector<double>& hessian,
                    const GptqWalk& o) {
  if (w.size() != size_t(rows) * cols)
    throw Error("gptq: got " + std::to_string(w.size()) + " weights for a " + std::to_string(rows) + "x" +
                std::to_string(cols) + " matrix");
  if (hessian.size() != size_t(cols) * cols)
    throw Error("gptq: the Hessian must be " + std::to_string(cols) + "x" + std::to_string(cols));
  if (o.group_size == 0 || o.block == 0 || o.block % o.group_size != 0)
    throw Error("gptq: the block (" + std::to_string(o.block) + ") must be a multiple of the group size (" +
                std::to_string(o.group_size) + ")");
  const uint32_t groups = (cols + o.group_size - 1) / o.group_size;
  if (o.group_bits.size() != groups || !o.choose) throw Error("gptq: one width per column group and a chooser are needed");
  std::vector<bool> dead(cols);
  for (uint32_t j = 0; j < cols; ++j) dead[j] = hessian[size_t(j) * cols + j] == 0.0;
  const std::vector<double> u = upper_cholesky_of_inverse(damped(hessian, cols, o.damp), cols);
  GptqCodes out;
  out.codes.assign(size_t(rows) * cols, 0);
  out.params.assign(size_t(rows) * groups, QParams{1.0f, 0.0f});
  parallel_for(rows, [&](size_t r0, size_t r1) {
    std::vector<double> row(cols);
    for (size_t r = r0; r < r1; ++r) {
      for (uint32_t j = 0; j < cols; ++j) row[j] = dead[j] ? 0.0 : double(w[r * cols + j]);
      gptq_row(row, u, cols, o, uint32_t(r), &out.codes[r * cols], &out.params[r * groups]);
    }
  });
  return out;
}

QuantizedMatrix quantize_gptq(std::span<const float> w, uint32_t rows, uint32_t cols,
                              const std::vector<double>& hessian, const GptqOptions& o) {
  QuantizedMatrix m = make_quantized(rows, cols, o.bits, o.group_size);
  GptqWalk walk;
  walk.group_size = o.group_size;
  walk.group_bits.assign(m.groups(), uint8_t(o.bits));
  walk.damp = o.damp;
  walk.block = o.block;
  const bool clip = o.clip_search;
  walk.choose = [clip](std::span<const float> g, uint32_t bits, uint32_t, uint32_t) {
    return clip ? search_clip(g, {}, bits) : choose_qparams(g, bits);
  };
  const GptqCodes c = gptq_walk(w, rows, cols, hessian, walk);
  m.codes = c.codes;
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t g = 0; g < m.groups(); ++g) set_params(m, r, g, c.params[size_t(r) * m.groups() + g]);
  return m;
}

}  // namespace bitlens::quant
