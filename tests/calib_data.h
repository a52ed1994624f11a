// Synthetic calibration data for the quantizer tests: correlated input rows with a few
// high-magnitude channels, like the inputs of a transformer's linear layers.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "calib/input_stats.h"

namespace bitlens::test {

// tokens x cols rows x = z A + noise, z ~ N(0, I_k), A random k x cols (k = cols / 4), and every
// channel with index % outlier_every == 0 scaled by `outlier_scale`.
inline std::vector<float> correlated_inputs(size_t tokens, uint32_t cols, uint64_t seed, uint32_t outlier_every = 37,
                                            float outlier_scale = 6.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd;
  const uint32_t k = std::max(1u, cols / 4);
  std::vector<float> a(size_t(k) * cols);
  for (auto& v : a) v = nd(rng) / std::sqrt(float(k));
  std::vector<float> x(tokens * cols), z(k);
  for (size_t t = 0; t < tokens; ++t) {
    for (auto& v : z) v = nd(rng);
    for (uint32_t c = 0; c < cols; ++c) {
      float s = 0.1f * nd(rng);
      for (uint32_t i = 0; i < k; ++i) s += z[i] * a[size_t(i) * cols + c];
      x[t * cols + c] = c % outlier_every == 0 ? outlier_scale * s : s;
    }
  }
  return x;
}

inline calib::InputStats stats_of(const std::vector<float>& x, uint32_t cols, uint32_t sample_rows = 256) {
  calib::InputStats s(cols, sample_rows);
  s.add(x, x.size() / cols);
  return s;
}

}  // namespace bitlens::test
