// Hadamard matrices and the reference rotation: orthogonality, the Kronecker structure, inverse,
// and refusal of unsupported widths.
#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "gpu_test.h"
#include "quant/hadamard.h"

using namespace bitlens;
using namespace bitlens::quant;

TEST(Hadamard, StoredMatricesAreHadamard) {
  for (uint32_t m : {1u, 12u, 20u, 28u, 36u}) {
    const auto h = hadamard_matrix(m);
    ASSERT_EQ(h.size(), size_t(m) * m);
    for (uint32_t i = 0; i < m; ++i)
      for (uint32_t j = 0; j < m; ++j) {
        int dot = 0;
        for (uint32_t k = 0; k < m; ++k) dot += h[i * m + k] * h[j * m + k];
        EXPECT_EQ(dot, i == j ? int(m) : 0) << "m " << m << " rows " << i << "," << j;
      }
  }
}

TEST(Hadamard, Factorization) {
  EXPECT_EQ(hadamard_factor(288).m, 36u);
  EXPECT_EQ(hadamard_factor(288).log2_p, 3u);
  EXPECT_EQ(hadamard_factor(768).m, 12u);
  EXPECT_EQ(hadamard_factor(4096).m, 1u);
  EXPECT_EQ(hadamard_factor(4096).log2_p, 12u);
  EXPECT_EQ(hadamard_factor(20).m, 20u);
  EXPECT_THROW(hadamard_factor(11008), UnsupportedError);  // 43 * 256
  EXPECT_THROW(hadamard_factor(6), UnsupportedError);
  EXPECT_THROW(hadamard_factor(0), UnsupportedError);
}

// Dense reference: y = (H_m (x) H_p) S x / sqrt(n), built entry by entry.
static std::vector<float> dense_rotation(const std::vector<float>& x, std::span<const uint32_t> signs) {
  const uint32_t n = uint32_t(x.size());
  const auto f = hadamard_factor(n);
  const uint32_t p = 1u << f.log2_p;
  const auto hm = hadamard_matrix(f.m);
  std::vector<float> y(n);
  for (uint32_t i = 0; i < n; ++i) {
    double s = 0;
    for (uint32_t j = 0; j < n; ++j) {
      const int hp = (__builtin_popcount((i % p) & (j % p)) & 1) ? -1 : 1;
      const int sj = sign_bit(signs, j) ? -1 : 1;
      s += double(hm[(i / p) * f.m + j / p] * hp * sj) * x[j];
    }
    y[i] = float(s / std::sqrt(double(n)));
  }
  return y;
}

TEST(Hadamard, RotationMatchesDenseKroneckerAndInverts) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (uint32_t n : {1u, 2u, 64u, 12u, 48u, 20u, 80u, 28u, 56u, 36u, 288u, 768u}) {
    const auto x = test::random_normal(n, seed + n);
    const auto signs = random_sign_bits(n, seed * 3 + n);
    std::vector<float> y = x;
    rotate(y, signs);
    const auto ref = dense_rotation(x, signs);
    double norm_x = 0, norm_y = 0;
    for (uint32_t i = 0; i < n; ++i) {
      EXPECT_NEAR(y[i], ref[i], 1e-4f) << "n " << n << " i " << i;
      norm_x += double(x[i]) * x[i];
      norm_y += double(y[i]) * y[i];
    }
    EXPECT_NEAR(norm_y, norm_x, 1e-4 * norm_x);  // orthogonal
    rotate_inverse(y, signs);
    for (uint32_t i = 0; i < n; ++i) EXPECT_NEAR(y[i], x[i], 1e-4f);
  }
}
