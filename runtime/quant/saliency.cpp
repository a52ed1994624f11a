// Saliency maps and their aggregates.
#include "quant/saliency.h"

#include <algorithm>
#include <string>

#include "common/error.h"
#include "common/parallel.h"
#include "quant/linalg.h"

namespace bitlens::quant {

namespace {

void check_shape(std::span<const float> w, uint32_t rows, uint32_t cols, size_t per_column, const char* what) {
  if (w.size() != size_t(rows) * cols)
    throw Error(std::string(what) + ": got " + std::to_string(w.size()) + " weights for a " + std::to_string(rows) +
                "x" + std::to_string(cols) + " matrix");
  if (per_column != cols)
    throw Error(std::string(what) + ": got " + std::to_string(per_column) + " input-channel statistics for " +
                std::to_string(cols) + " columns");
}

}  // namespace

std::vector<float> activation_saliency(std::span<const float> w, uint32_t rows, uint32_t cols,
                                       std::span<const float> mean_square) {
  check_shape(w, rows, cols, mean_square.size(), "activation_saliency");
  std::vector<float> s(w.size());
  parallel_for(rows, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r)
      for (size_t c = 0; c < cols; ++c) s[r * cols + c] = w[r * cols + c] * w[r * cols + c] * mean_square[c];
  }, 16);
  return s;
}

std::vector<float> obs_saliency(std::span<const float> w, uint32_t rows, uint32_t cols,
                                std::span<const double> hinv_diag) {
  check_shape(w, rows, cols, hinv_diag.size(), "obs_saliency");
  std::vector<float> s(w.size());
  parallel_for(rows, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r)
      for (size_t c = 0; c < cols; ++c) {
        const double v = w[r * cols + c];
        s[r * cols + c] = float(v * v / (hinv_diag[c] * hinv_diag[c]));
      }
  }, 16);
  return s;
}

std::vector<double> hessian_inverse_diagonal(const std::vector<double>& hessian, uint32_t n, double damp) {
  const std::vector<double> inv = inverse_spd(damped(hessian, n, damp), n);
  std::vector<double> d(n);
  for (uint32_t i = 0; i < n; ++i) d[i] = inv[size_t(i) * n + i];
  return d;
}

SaliencySummary summarize(std::span<const float> s, uint32_t rows, uint32_t cols, uint32_t group_size) {
  if (s.size() != size_t(rows) * cols || group_size == 0)
    throw Error("summarize: saliency map does not match its " + std::to_string(rows) + "x" + std::to_string(cols) +
                " shape or the group size is 0");
  SaliencySummary m;
  m.rows = rows;
  m.cols = cols;
  m.group_size = group_size;
  const uint32_t groups = m.groups();
  m.group_mean.assign(size_t(rows) * groups, 0.0f);
  m.row_mean.assign(rows, 0.0f);
  std::vector<double> col_sum(cols, 0.0);
  for (uint32_t r = 0; r < rows; ++r) {
    double row_sum = 0.0;
    for (uint32_t g = 0; g < groups; ++g) {
      const uint32_t c0 = g * group_size, c1 = std::min(cols, c0 + group_size);
      double gs = 0.0;
      for (uint32_t c = c0; c < c1; ++c) {
        const double v = s[size_t(r) * cols + c];
        gs += v;
        col_sum[c] += v;
      }
      m.group_mean[size_t(r) * groups + g] = float(gs / (c1 - c0));
      row_sum += gs;
    }
    m.row_mean[r] = float(row_sum / cols);
    m.sum += row_sum;
  }
  m.column_mean.resize(cols);
  for (uint32_t c = 0; c < cols; ++c) m.column_mean[c] = float(col_sum[c] / rows);
  return m;
}

std::vector<double> column_group_mean(std::span<const float> s, uint32_t rows, uint32_t cols, uint32_t group_size) {
  const SaliencySummary m = summarize(s, rows, cols, group_size);
  std::vector<double> out(m.groups(), 0.0);
  for (uint32_t g = 0; g < m.groups(); ++g) {
    const uint32_t c0 = g * group_size, c1 = std::min(cols, c0 + group_size);
    double sum = 0.0;
    for (uint32_t c = c0; c < c1; ++c) sum += m.column_mean[c];
    out[g] = sum / (c1 - c0);
  }
  return out;
}

LayerSaliency aggregate_layer(std::span<const SaliencySummary> tensors) {
  LayerSaliency l;
  for (const auto& t : tensors) {
    l.sum += t.sum;
    l.weights += uint64_t(t.rows) * t.cols;
  }
  return l;
}

}  // namespace bitlens::quant
