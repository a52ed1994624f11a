// Accumulation of InputStats: the Gram matrix is updated in parallel over its rows, a block of
// tokens at a time, in double precision.
#include "calib/input_stats.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "common/error.h"
#include "common/parallel.h"

namespace bitlens::calib {

InputStats::InputStats(uint32_t in, uint32_t sample_rows, bool with_hessian, uint64_t seed)
    : in_(in), sample_rows_(sample_rows), sum_sq_(in, 0.0), sum_abs_(in, 0.0), max_abs_(in, 0.0f), rng_(seed) {
  if (in == 0) throw Error("InputStats: a layer input needs at least one feature");
  if (with_hessian) {
    if (uint64_t(in) * in > (uint64_t(1) << 31))
      throw Error("InputStats: a " + std::to_string(in) + "-wide Hessian is too large to keep");
    gram_.assign(size_t(in) * in, 0.0);
  }
}

void InputStats::add(std::span<const float> x, size_t tokens) {
  if (x.size() != tokens * in_)
    throw Error("InputStats::add: got " + std::to_string(x.size()) + " values for " + std::to_string(tokens) +
                " rows of " + std::to_string(in_));
  for (float v : x)
    if (!std::isfinite(v)) throw Error("InputStats::add: calibration input holds a non-finite value");
  const size_t n = in_;
  parallel_for(n, [&](size_t j0, size_t j1) {
    for (size_t t = 0; t < tokens; ++t)
      for (size_t j = j0; j < j1; ++j) {
        const float v = x[t * n + j];
        sum_sq_[j] += double(v) * v;
        sum_abs_[j] += std::abs(v);
        max_abs_[j] = std::max(max_abs_[j], std::abs(v));
      }
  }, 64);
  if (!gram_.empty()) {
    // Row i of the upper triangle: gram[i][j] += sum_t x[t][i] x[t][j] for j >= i. Rows are
    // interleaved over the chunks so that the triangle's work is balanced.
    parallel_for(n, [&](size_t r0, size_t r1) {
      for (size_t r = r0; r < r1; ++r) {
        const size_t i = (r % 2 == 0) ? r / 2 : n - 1 - r / 2;
        double* g = &gram_[i * n];
        for (size_t t = 0; t < tokens; ++t) {
          const float* xt = &x[t * n];
          const double xi = xt[i];
          if (xi == 0.0) continue;
#pragma omp simd
          for (size_t j = i; j < n; ++j) g[j] += xi * double(xt[j]);
        }
      }
    }, 8);
  }
  // Reservoir sampling (Algorithm R).
  for (size_t t = 0; t < tokens; ++t) {
    const uint64_t seen = tokens_ + t;
    if (seen < sample_rows_) {
      sample_.insert(sample_.end(), x.begin() + t * n, x.begin() + (t + 1) * n);
    } else {
      const uint64_t k = std::uniform_int_distribution<uint64_t>(0, seen)(rng_);
      if (k < sample_rows_) std::memcpy(&sample_[k * n], &x[t * n], n * sizeof(float));
    }
  }
  tokens_ += tokens;
}

std::vector<float> InputStats::mean_square() const {
  std::vector<float> m(in_, 0.0f);
  if (tokens_)
    for (uint32_t j = 0; j < in_; ++j) m[j] = float(sum_sq_[j] / double(tokens_));
  return m;
}

std::vector<float> InputStats::mean_abs() const {
  std::vector<float> m(in_, 0.0f);
  if (tokens_)
    for (uint32_t j = 0; j < in_; ++j) m[j] = float(sum_abs_[j] / double(tokens_));
  return m;
}

std::vector<float> InputStats::max_abs() const { return max_abs_; }

std::vector<double> InputStats::hessian() const {
  if (gram_.empty()) throw Error("InputStats: built without the Hessian");
  if (tokens_ == 0) throw Error("InputStats: no calibration tokens were added");
  const size_t n = in_;
  std::vector<double> h(n * n);
  const double s = 2.0 / double(tokens_);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i; j < n; ++j) h[i * n + j] = h[j * n + i] = s * gram_[i * n + j];
  return h;
}

}  // namespace bitlens::calib
