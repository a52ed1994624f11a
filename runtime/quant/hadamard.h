// Randomized Hadamard transforms (docs/METHODS.md section 4): sizes n = m * 2^k with m in
// {1, 12, 20, 28, 36}, Paley-constructed H_m, random sign vectors, and the CPU reference rotation
// x <- H_n (S x) / sqrt(n) with H_n = H_m (x) H_{2^k} (index i = a * 2^k + b).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace bitlens::quant {

struct HadamardFactor {
  uint32_t m;       // 1, 12, 20, 28 or 36
  uint32_t log2_p;  // k
};

// The factorization of n; throws UnsupportedError if n is not m * 2^k with a supported m.
HadamardFactor hadamard_factor(uint32_t n);
bool hadamard_supported(uint32_t n);

// The m x m Hadamard matrix (entries +-1, H H^T = m I), row-major.
std::vector<int8_t> hadamard_matrix(uint32_t m);

// n random signs as bits (bit i set: negate element i), from a seed.
std::vector<uint32_t> random_sign_bits(uint32_t n, uint64_t seed);
inline bool sign_bit(std::span<const uint32_t> bits, uint32_t i) { return (bits[i / 32] >> (i % 32)) & 1u; }

// In-place rotation of one row of length n; signs may be empty (no random signs).
void rotate(std::span<float> row, std::span<const uint32_t> signs);
// The inverse rotation (S H_n^T x / sqrt(n)): undoes rotate().
void rotate_inverse(std::span<float> row, std::span<const uint32_t> signs);

}  // namespace bitlens::quant
