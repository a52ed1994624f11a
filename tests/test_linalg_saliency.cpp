// Cholesky and inverses on fresh random SPD matrices; the saliency estimators against their
// formulas and their aggregates against direct sums.
#include <gtest/gtest.h>

#include <cmath>

#include "calib_data.h"
#include "common/error.h"
#include "gpu_test.h"
#include "quant/linalg.h"
#include "quant/saliency.h"

using namespace bitlens;
using namespace bitlens::quant;

namespace {

std::vector<double> random_spd(uint32_t n, uint64_t seed) {
  const auto x = test::correlated_inputs(4 * n, n, seed);
  return test::stats_of(x, n).hessian();
}

}  // namespace

TEST(Linalg, InverseAndCholeskyFactors) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t n = 73;
  const auto a = damped(random_spd(n, seed), n, 0.01);
  const auto inv = inverse_spd(a, n);
  const auto u = upper_cholesky_of_inverse(a, n);
  const auto l = cholesky_lower(a, n);
  for (uint32_t i = 0; i < n; ++i)
    for (uint32_t j = 0; j < n; ++j) {
      double ai = 0, utu = 0, llt = 0;
      for (uint32_t k = 0; k < n; ++k) {
        ai += a[i * n + k] * inv[k * n + j];
        utu += u[k * n + i] * u[k * n + j];
        llt += l[i * n + k] * l[j * n + k];
      }
      // Double precision on a damped (condition <= ~1e4) matrix.
      ASSERT_NEAR(ai, i == j ? 1.0 : 0.0, 1e-9) << i << "," << j;
      ASSERT_NEAR(utu, inv[i * n + j], 1e-9 * (1 + std::abs(inv[i * n + j])));
      ASSERT_NEAR(llt, a[i * n + j], 1e-9 * (1 + std::abs(a[i * n + j])));
      if (j < i) {
        ASSERT_EQ(u[i * n + j], 0.0);
        ASSERT_EQ(l[j * n + i], 0.0);
      }
    }
}

TEST(Linalg, DampingAndRefusals) {
  std::vector<double> h = {4, 0, 0, 0, 0, 0, 0, 0, 2};  // channel 1 dead
  const auto d = damped(h, 3, 0.01);
  EXPECT_DOUBLE_EQ(d[0], 4 + 0.02);
  EXPECT_DOUBLE_EQ(d[4], 1 + 0.02);
  EXPECT_DOUBLE_EQ(d[8], 2 + 0.02);
  EXPECT_THROW(cholesky_lower({1, 2, 2, 1}, 2), Error);  // indefinite
  EXPECT_THROW(inverse_spd({1, 0, 0}, 2), Error);
}

TEST(Saliency, EstimatorsFollowTheirFormulas) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t rows = 12, cols = 40;
  const auto x = test::correlated_inputs(512, cols, seed);
  const auto stats = test::stats_of(x, cols);
  const auto w = test::random_normal(size_t(rows) * cols, seed + 1, 0.05f);
  const auto ms = stats.mean_square();
  const auto act = activation_saliency(w, rows, cols, ms);
  const auto hinv = inverse_spd(damped(stats.hessian(), cols, 0.01), cols);
  const auto hd = hessian_inverse_diagonal(stats.hessian(), cols, 0.01);
  const auto obs = obs_saliency(w, rows, cols, hd);
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t c = 0; c < cols; ++c) {
      const size_t i = size_t(r) * cols + c;
      EXPECT_FLOAT_EQ(act[i], w[i] * w[i] * ms[c]);
      const double hjj = hinv[size_t(c) * cols + c];
      EXPECT_NEAR(obs[i], w[i] * w[i] / (hjj * hjj), 1e-5 * obs[i]);
    }
  EXPECT_THROW(activation_saliency(w, rows, cols, std::vector<float>(cols - 1)), Error);
}

TEST(Saliency, AggregatesMatchDirectSums) {
  const uint64_t seed = test::fresh_seed();
  const uint32_t rows = 9, cols = 100, g = 32;  // groups of 32, 32, 32 and 4
  auto s = test::random_normal(size_t(rows) * cols, seed, 1.0f);
  for (auto& v : s) v = v * v;
  const SaliencySummary m = summarize(s, rows, cols, g);
  ASSERT_EQ(m.groups(), 4u);
  double total = 0;
  for (uint32_t r = 0; r < rows; ++r) {
    double row = 0;
    for (uint32_t gi = 0; gi < 4; ++gi) {
      double gs = 0;
      const uint32_t c1 = std::min(cols, (gi + 1) * g);
      for (uint32_t c = gi * g; c < c1; ++c) gs += s[size_t(r) * cols + c];
      EXPECT_NEAR(m.group_mean[r * 4 + gi], gs / (c1 - gi * g), 1e-5 * gs);
      row += gs;
    }
    EXPECT_NEAR(m.row_mean[r], row / cols, 1e-5 * row);
    total += row;
  }
  for (uint32_t c = 0; c < cols; ++c) {
    double cs = 0;
    for (uint32_t r = 0; r < rows; ++r) cs += s[size_t(r) * cols + c];
    EXPECT_NEAR(m.column_mean[c], cs / rows, 1e-5 * cs);
  }
  EXPECT_NEAR(m.sum, total, 1e-9 * total);
  EXPECT_NEAR(m.mean(), total / (rows * cols), 1e-9 * total);
  const auto cg = column_group_mean(s, rows, cols, g);
  ASSERT_EQ(cg.size(), 4u);
  double g3 = 0;
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t c = 96; c < 100; ++c) g3 += s[size_t(r) * cols + c];
  EXPECT_NEAR(cg[3], g3 / (rows * 4), 1e-5 * g3);
  const SaliencySummary parts[] = {m, summarize(s, rows, cols, 64)};
  const LayerSaliency layer = aggregate_layer(parts);
  EXPECT_EQ(layer.weights, 2u * rows * cols);
  EXPECT_NEAR(layer.mean(), total / (rows * cols), 1e-9 * total);
}
