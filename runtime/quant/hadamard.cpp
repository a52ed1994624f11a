// Paley constructions, FWHT and the reference rotation.
#include "quant/hadamard.h"

#include <cmath>
#include <random>

#include "common/error.h"

namespace bitlens::quant {

namespace {

// Quadratic character of a modulo the prime q: 0, +1 or -1.
int legendre(int64_t a, int64_t q) {
  a %= q;
  if (a < 0) a += q;
  if (a == 0) return 0;
  for (int64_t x = 1; x < q; ++x)
    if ((x * x) % q == a) return 1;
  return -1;
}

// Paley I, q = 3 mod 4 prime: order q + 1.
std::vector<int8_t> paley1(int q) {
  const int m = q + 1;
  std::vector<int8_t> h(size_t(m) * m);
  auto at = [&](int i, int j) -> int8_t& { return h[size_t(i) * m + j]; };
  // S = [[0, 1^T], [-1, Q]] is skew-symmetric; H = I + S.
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) {
      int s;
      if (i == 0 && j == 0) s = 0;
      else if (i == 0) s = 1;
      else if (j == 0) s = -1;
      else s = legendre(j - i, q);
      at(i, j) = int8_t(s + (i == j ? 1 : 0));
    }
  return h;
}

// Paley II, q = 1 mod 4 prime: order 2(q + 1).
std::vector<int8_t> paley2(int q) {
  const int c = q + 1, m = 2 * c;
  std::vector<int8_t> h(size_t(m) * m);
  for (int i = 0; i < c; ++i)
    for (int j = 0; j < c; ++j) {
      int s;  // symmetric conference matrix C = [[0, 1^T], [1, Q]]
      if (i == 0 && j == 0) s = 0;
      else if (i == 0 || j == 0) s = 1;
      else s = legendre(j - i, q);
      // 0 -> [[1, -1], [-1, -1]], +-1 -> +-[[1, 1], [1, -1]]
      const int blk[2][2] = {{s == 0 ? 1 : s, s == 0 ? -1 : s}, {s == 0 ? -1 : s, s == 0 ? -1 : -s}};
      for (int a = 0; a < 2; ++a)
        for (int b = 0; b < 2; ++b) h[size_t(2 * i + a) * m + (2 * j + b)] = int8_t(blk[a][b]);
    }
  return h;
}

void fwht(float* v, uint32_t p) {
  for (uint32_t h = 1; h < p; h <<= 1)
    for (uint32_t i = 0; i < p; i += 2 * h)
      for (uint32_t j = i; j < i + h; ++j) {
        const float a = v[j], b = v[j + h];
        v[j] = a + b;
        v[j + h] = a - b;
      }
}

// x <- (H_m (x) H_p) x, unnormalized; transpose = true applies H_m^T (H_p is symmetric).
void kron_apply(std::span<float> row, const HadamardFactor& f, bool transpose) {
  const uint32_t p = 1u << f.log2_p;
  for (uint32_t a = 0; a < f.m; ++a) fwht(row.data() + size_t(a) * p, p);
  if (f.m == 1) return;
  const std::vector<int8_t> h = hadamard_matrix(f.m);
  std::vector<float> col(f.m);
  for (uint32_t b = 0; b < p; ++b) {
    for (uint32_t a = 0; a < f.m; ++a) col[a] = row[size_t(a) * p + b];
    for (uint32_t a = 0; a < f.m; ++a) {
      double s = 0.0;
      for (uint32_t a2 = 0; a2 < f.m; ++a2)
        s += double(transpose ? h[size_t(a2) * f.m + a] : h[size_t(a) * f.m + a2]) * col[a2];
      row[size_t(a) * p + b] = float(s);
    }
  }
}

}  // namespace

HadamardFactor hadamard_factor(uint32_t n) {
  for (uint32_t m : {1u, 12u, 20u, 28u, 36u}) {
    if (n < m || n % m != 0) continue;
    const uint32_t p = n / m;
    if ((p & (p - 1)) == 0) {
      uint32_t k = 0;
      while ((1u << k) < p) ++k;
      return {m, k};
    }
  }
  throw UnsupportedError("Hadamard rotation of width " + std::to_string(n) +
                         " is not supported: the width must be m * 2^k with m in {1, 12, 20, 28, 36}");
}

bool hadamard_supported(uint32_t n) {
  try {
    hadamard_factor(n);
    return true;
  } catch (const UnsupportedError&) {
    return false;
  }
}

std::vector<int8_t> hadamard_matrix(uint32_t m) {
  switch (m) {
    case 1: return {1};
    case 12: return paley1(11);
    case 20: return paley1(19);
    case 28: return paley2(13);
    case 36: return paley2(17);
    default: throw UnsupportedError("no stored Hadamard matrix of order " + std::to_string(m));
  }
}

std::vector<uint32_t> random_sign_bits(uint32_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> bits((n + 31) / 32, 0);
  for (uint32_t i = 0; i < n; ++i)
    if (rng() & 1u) bits[i / 32] |= 1u << (i % 32);
  return bits;
}

void rotate(std::span<float> row, std::span<const uint32_t> signs) {
  const uint32_t n = uint32_t(row.size());
  const HadamardFactor f = hadamard_factor(n);
  if (!signs.empty())
    for (uint32_t i = 0; i < n; ++i)
      if (sign_bit(signs, i)) row[i] = -row[i];
  kron_apply(row, f, false);
  const float scale = float(1.0 / std::sqrt(double(n)));
  for (float& v : row) v *= scale;
}

void rotate_inverse(std::span<float> row, std::span<const uint32_t> signs) {
  const uint32_t n = uint32_t(row.size());
  const HadamardFactor f = hadamard_factor(n);
  kron_apply(row, f, true);
  const float scale = float(1.0 / std::sqrt(double(n)));
  for (float& v : row) v *= scale;
  if (!signs.empty())
    for (uint32_t i = 0; i < n; ++i)
      if (sign_bit(signs, i)) row[i] = -row[i];
}

}  // namespace bitlens::quant
