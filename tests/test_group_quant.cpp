// Uniform asymmetric group quantization: defining properties of choose_qparams / quantize /
// dequantize on fresh random data, shorter last groups, and refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "gpu_test.h"
#include "quant/group_quant.h"

using namespace bitlens;
using namespace bitlens::quant;

TEST(GroupQuant, RoundToNearestErrorIsAtMostHalfAStep) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (uint32_t bits : {2u, 3u, 4u, 8u}) {
    const auto w = test::random_normal(257, seed + bits, 0.05f);
    const QParams p = choose_qparams(w, bits);
    for (float v : w) {
      const uint8_t q = quantize_value(v, p, bits);
      EXPECT_LT(q, 1u << bits);
      // Half a step, plus what fp16 rounding of scale and offset can shift the grid by.
      const float qmax = float((1u << bits) - 1);
      const float slack = std::ldexp(1.0f, -11) * (p.offset + qmax * p.scale);
      EXPECT_LE(std::abs(dequantize_value(q, p) - v), 0.5f * p.scale + slack + 1e-6f) << "bits " << bits;
    }
  }
}

TEST(GroupQuant, ZeroIsRepresentableToHalfPrecision) {
  // zero is an integer code; only the fp16 rounding of offset = scale * zero separates w_hat(0) from 0.
  const auto w = test::random_normal(64, test::fresh_seed(), 0.02f);
  for (uint32_t bits : {2u, 3u, 4u, 8u}) {
    const QParams p = choose_qparams(w, bits);
    const float zero = p.offset / p.scale;
    EXPECT_GE(zero, -1e-3f);
    EXPECT_LE(zero, float((1u << bits) - 1) + 1e-3f);
    EXPECT_LE(std::abs(dequantize_value(quantize_value(0.0f, p, bits), p)), p.offset * std::ldexp(1.0f, -11) + 1e-9f);
  }
}

TEST(GroupQuant, ClippingShrinksTheRange) {
  const auto w = test::random_normal(128, test::fresh_seed(), 1.0f);
  const QParams full = choose_qparams(w, 3);
  const QParams clipped = choose_qparams(w, 3, 0.7f, 0.7f);
  EXPECT_LT(clipped.scale, full.scale);
  EXPECT_NEAR(clipped.scale, full.scale * 0.7f, full.scale * 0.01f);
}

TEST(GroupQuant, ConstantAndZeroGroups) {
  const std::vector<float> zeros(32, 0.0f), ones(32, 0.5f);
  for (uint32_t bits : {2u, 4u}) {
    const QParams pz = choose_qparams(zeros, bits);
    EXPECT_EQ(dequantize_value(quantize_value(0.0f, pz, bits), pz), 0.0f);
    const QParams po = choose_qparams(ones, bits);
    EXPECT_NEAR(dequantize_value(quantize_value(0.5f, po, bits), po), 0.5f, 1e-3f);
  }
}

TEST(GroupQuant, ShorterLastGroupUsesOnlyItsOwnColumns) {
  // 288 columns with group 64: four groups of 64 and one of 32; make the last group's range tiny.
  const uint64_t seed = test::fresh_seed();
  std::vector<float> w = test::random_normal(3 * 288, seed, 1.0f);
  for (uint32_t r = 0; r < 3; ++r)
    for (uint32_t c = 256; c < 288; ++c) w[r * 288 + c] *= 1e-3f;
  const QuantizedMatrix m = quantize_rtn(w, 3, 288, 4, 64);
  ASSERT_EQ(m.groups(), 5u);
  for (uint32_t r = 0; r < 3; ++r) {
    EXPECT_LT(m.params(r, 4).scale, m.params(r, 0).scale * 0.01f);
    for (uint32_t c = 0; c < 288; ++c)
      EXPECT_LE(std::abs(m.dequantized(r, c) - w[r * 288 + c]),
                0.5f * m.params(r, c / 64).scale + std::ldexp(1.0f, -11) * (m.params(r, c / 64).offset + 15 * m.params(r, c / 64).scale) + 1e-6f);
  }
}

TEST(GroupQuant, RefusesUnsupportedBitsAndGroups) {
  const std::vector<float> w(64, 0.1f);
  EXPECT_THROW(choose_qparams(w, 5), UnsupportedError);
  EXPECT_THROW(quantize_rtn(w, 1, 64, 1, 64), UnsupportedError);
  EXPECT_THROW(quantize_rtn(w, 1, 64, 4, 48), UnsupportedError);
  EXPECT_THROW(quantize_rtn(w, 1, 64, 4, 256), UnsupportedError);
  EXPECT_THROW(quantize_rtn(w, 2, 64, 4, 64), Error);  // wrong weight count
}
