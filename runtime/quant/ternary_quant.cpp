// Exact ternary threshold search and the alternating trit-plane fit.
#include "quant/ternary_quant.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "common/error.h"
#include "common/fp16.h"
#include "common/parallel.h"

namespace bitlens::quant {

namespace {

double weight_at(std::span<const float> weights, size_t j) { return weights.empty() ? 1.0 : double(weights[j]); }

// The nearest of {-a, 0, a} to v (ties to 0).
int8_t nearest_trit(float v, float a) {
  if (!(a > 0.0f)) return 0;
  if (v > 0.5f * a) return 1;
  if (v < -0.5f * a) return -1;
  return 0;
}

// Best (t1, t2) in {-1, 0, 1}^2 for one value.
void best_pair(float v, float a1, float a2, int8_t& t1, int8_t& t2) {
  float best = INFINITY;
  for (int i = -1; i <= 1; ++i)
    for (int k = -1; k <= 1; ++k) {
      const float e = std::abs(v - a1 * float(i) - a2 * float(k));
      if (e < best) {
        best = e;
        t1 = int8_t(i);
        t2 = int8_t(k);
      }
    }
}

template <class Fn>
void for_each_group(uint32_t rows, uint32_t cols, uint32_t group_size, const ErrorWeights& weights, Fn&& fn) {
  parallel_for(rows, [&](size_t r0, size_t r1) {
    std::vector<float> wt(group_size);
    for (size_t r = r0; r < r1; ++r)
      for (uint32_t g = 0, groups = (cols + group_size - 1) / group_size; g < groups; ++g) {
        const uint32_t c0 = g * group_size, c1 = std::min(cols, c0 + group_size);
        std::span<const float> gw;
        if (!weights.empty()) {
          weights.row_range(uint32_t(r), c0, c1, wt.data());
          gw = std::span<const float>(wt.data(), c1 - c0);
        }
        fn(uint32_t(r), g, c0, c1, gw);
      }
  });
}

void check_shape(std::span<const float> w, uint32_t rows, uint32_t cols, const char* what) {
  if (w.size() != size_t(rows) * cols)
    throw Error(std::string(what) + ": got " + std::to_string(w.size()) + " weights for a " + std::to_string(rows) +
                "x" + std::to_string(cols) + " matrix");
}

}  // namespace

float ternary_group(std::span<const float> v, std::span<const float> weights, int8_t* t) {
  const size_t n = v.size();
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return std::abs(v[a]) > std::abs(v[b]); });
  // err(k) = sum h v^2 - (sum_top-k h |v|)^2 / sum_top-k h: maximize the subtracted term.
  double num = 0.0, den = 0.0, best_gain = 0.0, best_scale = 0.0;
  for (size_t k = 0; k < n; ++k) {
    const double h = weight_at(weights, order[k]);
    num += h * std::abs(double(v[order[k]]));
    den += h;
    if (den > 0.0 && num * num / den > best_gain) {
      best_gain = num * num / den;
      best_scale = num / den;
    }
  }
  const float a = round_to_half(float(best_scale));
  for (size_t j = 0; j < n; ++j) t[j] = nearest_trit(v[j], a);
  return a;
}

TritPair tritplane_group(std::span<const float> v, std::span<const float> weights, int8_t* t1, int8_t* t2,
                         uint32_t max_iterations) {
  const size_t n = v.size();
  std::vector<float> residual(n);
  double a1 = ternary_group(v, weights, t1);
  for (size_t j = 0; j < n; ++j) residual[j] = v[j] - float(a1) * t1[j];
  double a2 = ternary_group(residual, weights, t2);
  for (uint32_t it = 0; it < max_iterations; ++it) {
    double s11 = 0, s12 = 0, s22 = 0, b1 = 0, b2 = 0;
    for (size_t j = 0; j < n; ++j) {
      const double h = weight_at(weights, j);
      s11 += h * t1[j] * t1[j];
      s12 += h * t1[j] * t2[j];
      s22 += h * t2[j] * t2[j];
      b1 += h * v[j] * t1[j];
      b2 += h * v[j] * t2[j];
    }
    const double det = s11 * s22 - s12 * s12;
    if (det > 1e-9 * (s11 * s22 + 1e-30)) {
      a1 = (b1 * s22 - b2 * s12) / det;
      a2 = (b2 * s11 - b1 * s12) / det;
    } else if (s11 > 0.0) {
      a1 = (b1 - a2 * s12) / s11;
    }
    bool changed = false;
    for (size_t j = 0; j < n; ++j) {
      int8_t p = t1[j], q = t2[j];
      best_pair(v[j], float(a1), float(a2), t1[j], t2[j]);
      changed |= p != t1[j] || q != t2[j];
    }
    if (!changed) break;
  }
  const TritPair out{round_to_half(float(a1)), round_to_half(float(a2))};
  for (size_t j = 0; j < n; ++j) best_pair(v[j], out.a1, out.a2, t1[j], t2[j]);
  return out;
}

TernaryMatrix quantize_ternary(std::span<const float> w, uint32_t rows, uint32_t cols, uint32_t group_size,
                               const ErrorWeights& weights) {
  check_shape(w, rows, cols, "quantize_ternary");
  TernaryMatrix m = make_ternary(rows, cols, group_size);
  for_each_group(rows, cols, group_size, weights, [&](uint32_t r, uint32_t g, uint32_t c0, uint32_t c1, std::span<const float> gw) {
    const size_t base = size_t(r) * cols + c0;
    const float a = ternary_group(w.subspan(base, c1 - c0), gw, &m.trits[base]);
    m.scale[size_t(r) * m.groups() + g] = float_to_half(a);
  });
  return m;
}

TritPlaneMatrix quantize_tritplane(std::span<const float> w, uint32_t rows, uint32_t cols, uint32_t group_size,
                                   const ErrorWeights& weights, uint32_t max_iterations) {
  check_shape(w, rows, cols, "quantize_tritplane");
  TritPlaneMatrix m = make_tritplane(rows, cols, group_size);
  for_each_group(rows, cols, group_size, weights, [&](uint32_t r, uint32_t g, uint32_t c0, uint32_t c1, std::span<const float> gw) {
    const size_t base = size_t(r) * cols + c0;
    const TritPair a = tritplane_group(w.subspan(base, c1 - c0), gw, &m.t1[base], &m.t2[base], max_iterations);
    m.a1[size_t(r) * m.groups() + g] = float_to_half(a.a1);
    m.a2[size_t(r) * m.groups() + g] = float_to_half(a.a2);
  });
  return m;
}

}  // namespace bitlens::quant
