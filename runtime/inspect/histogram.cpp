// Scope selection, histograms and quantization levels.
#include "inspect/histogram.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace bitlens::inspect {

const char* scope_name(Scope s) {
  switch (s) {
    case Scope::Tensor: return "tensor";
    case Scope::Row: return "output channel";
    case Scope::Column: return "input channel";
    case Scope::Group: return "group";
  }
  return "?";
}

std::vector<float> scope_values(std::span<const float> m, uint32_t rows, uint32_t cols, Scope scope, uint32_t row,
                                uint32_t col, uint32_t group_size) {
  if (m.size() != size_t(rows) * cols) throw Error("scope_values: matrix size does not match its shape");
  if (row >= rows || col >= cols) throw Error("scope_values: element outside the matrix");
  switch (scope) {
    case Scope::Tensor: return {m.begin(), m.end()};
    case Scope::Row: return {m.begin() + size_t(row) * cols, m.begin() + size_t(row + 1) * cols};
    case Scope::Column: {
      std::vector<float> v(rows);
      for (uint32_t r = 0; r < rows; ++r) v[r] = m[size_t(r) * cols + col];
      return v;
    }
    case Scope::Group: {
      if (group_size == 0) throw Error("scope_values: a group needs a group size");
      const uint32_t c0 = col / group_size * group_size, c1 = std::min(cols, c0 + group_size);
      return {m.begin() + size_t(row) * cols + c0, m.begin() + size_t(row) * cols + c1};
    }
  }
  throw Error("scope_values: unknown scope");
}

uint32_t Histogram::max_count() const {
  return counts.empty() ? 0 : *std::max_element(counts.begin(), counts.end());
}

Histogram histogram(std::span<const float> v, float lo, float hi, uint32_t bins) {
  if (bins == 0) throw Error("histogram: zero bins");
  Histogram h;
  h.lo = lo;
  h.hi = hi > lo ? hi : lo + 1e-6f;
  h.counts.assign(bins, 0);
  const float scale = float(bins) / (h.hi - h.lo);
  for (float x : v) {
    if (!(x >= h.lo && x <= h.hi)) {
      ++h.outside;
      continue;
    }
    const float b = std::floor((x - h.lo) * scale);
    h.counts[size_t(std::min(b, float(bins - 1)))]++;
  }
  return h;
}

std::pair<float, float> value_range(std::initializer_list<std::span<const float>> sets) {
  float lo = INFINITY, hi = -INFINITY;
  for (auto s : sets)
    for (float x : s)
      if (std::isfinite(x)) {
        lo = std::min(lo, x);
        hi = std::max(hi, x);
      }
  return lo <= hi ? std::pair{lo, hi} : std::pair{0.0f, 0.0f};
}

std::pair<float, float> robust_range(std::initializer_list<std::span<const float>> sets, float tail) {
  std::vector<float> all;
  for (auto s : sets)
    for (float x : s)
      if (std::isfinite(x)) all.push_back(x);
  if (all.empty()) return {0.0f, 0.0f};
  const size_t k = std::min(all.size() - 1, size_t(double(tail) * double(all.size())));
  std::nth_element(all.begin(), all.begin() + k, all.end());
  const float lo = all[k];
  std::nth_element(all.begin(), all.end() - 1 - k, all.end());
  return {lo, all[all.size() - 1 - k]};
}

std::vector<float> group_levels(const quant::QuantizedMatrix& m, uint32_t row, uint32_t group) {
  if (row >= m.rows || group >= m.groups()) throw Error("group_levels: no such group");
  const quant::QParams p = m.params(row, group);
  std::vector<float> levels(size_t(1) << m.bits);
  for (size_t q = 0; q < levels.size(); ++q) levels[q] = quant::dequantize_value(uint8_t(q), p);
  std::sort(levels.begin(), levels.end());
  return levels;
}

}  // namespace bitlens::inspect
