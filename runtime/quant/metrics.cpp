// Error metrics, parallel over rows where they are O(rows * cols^2).
#include "quant/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"
#include "common/parallel.h"

namespace bitlens::quant {

namespace {

void check_pair(std::span<const float> w, std::span<const float> w_hat, uint32_t rows, uint32_t cols, const char* what) {
  if (w.size() != size_t(rows) * cols || w_hat.size() != w.size())
    throw Error(std::string(what) + ": the matrices do not match the " + std::to_string(rows) + "x" +
                std::to_string(cols) + " shape");
}

}  // namespace

double output_error(std::span<const float> w, std::span<const float> w_hat, uint32_t rows, uint32_t cols,
                    const std::vector<double>& h, std::span<const float> row_weight) {
  check_pair(w, w_hat, rows, cols, "output_error");
  if (h.size() != size_t(cols) * cols) throw Error("output_error: the Hessian must be " + std::to_string(cols) + " square");
  if (!row_weight.empty() && row_weight.size() != rows)
    throw Error("output_error: " + std::to_string(row_weight.size()) + " row weights for " + std::to_string(rows) + " rows");
  std::vector<double> per_row(rows);
  parallel_for(rows, [&](size_t r0, size_t r1) {
    std::vector<double> e(cols);
    for (size_t r = r0; r < r1; ++r) {
      for (uint32_t c = 0; c < cols; ++c) e[c] = double(w[r * cols + c]) - double(w_hat[r * cols + c]);
      double s = 0.0;
      for (uint32_t i = 0; i < cols; ++i) {
        if (e[i] == 0.0) continue;
        const double* hi = &h[size_t(i) * cols];
        double t = 0.0;
        for (uint32_t j = 0; j < cols; ++j) t += hi[j] * e[j];
        s += e[i] * t;
      }
      per_row[r] = 0.5 * s * (row_weight.empty() ? 1.0 : double(row_weight[r]));
    }
  });
  return std::accumulate(per_row.begin(), per_row.end(), 0.0);
}

double relative_output_error(std::span<const float> w, std::span<const float> w_hat, uint32_t rows, uint32_t cols,
                             std::span<const float> x, size_t tokens) {
  check_pair(w, w_hat, rows, cols, "relative_output_error");
  if (x.size() != tokens * cols) throw Error("relative_output_error: input rows do not match the width");
  std::vector<double> num(rows), den(rows);
  parallel_for(rows, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r)
      for (size_t t = 0; t < tokens; ++t) {
        double y = 0.0, yh = 0.0;
        for (uint32_t c = 0; c < cols; ++c) {
          y += double(w[r * cols + c]) * x[t * cols + c];
          yh += double(w_hat[r * cols + c]) * x[t * cols + c];
        }
        num[r] += (y - yh) * (y - yh);
        den[r] += y * y;
      }
  });
  const double d = std::accumulate(den.begin(), den.end(), 0.0);
  return d > 0.0 ? std::sqrt(std::accumulate(num.begin(), num.end(), 0.0) / d) : 0.0;
}

double weighted_error(std::span<const float> w, std::span<const float> w_hat, uint32_t rows, uint32_t cols,
                      const ErrorWeights& weights) {
  check_pair(w, w_hat, rows, cols, "weighted_error");
  double s = 0.0;
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t c = 0; c < cols; ++c) {
      const double e = double(w[size_t(r) * cols + c]) - w_hat[size_t(r) * cols + c];
      s += weights.at(r, c) * e * e;
    }
  return s;
}

float max_abs(std::span<const float> v) {
  float m = 0.0f;
  for (float x : v) m = std::max(m, std::abs(x));
  return m;
}

double kurtosis(std::span<const float> v) {
  if (v.empty()) return 0.0;
  double mean = 0.0;
  for (float x : v) mean += x;
  mean /= double(v.size());
  double m2 = 0.0, m4 = 0.0;
  for (float x : v) {
    const double d = x - mean;
    m2 += d * d;
    m4 += d * d * d * d;
  }
  m2 /= double(v.size());
  m4 /= double(v.size());
  return m2 > 0.0 ? m4 / (m2 * m2) : 0.0;
}

}  // namespace bitlens::quant
