// fp16 conversion: exact round trips, round-to-nearest-even, subnormals, overflow.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "common/fp16.h"

using namespace bitlens;

TEST(Fp16, EveryHalfRoundTrips) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = half_to_float(uint16_t(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(float_to_half(f), h) << std::hex << h;
  }
}

TEST(Fp16, RoundsToNearestEven) {
  EXPECT_EQ(half_to_float(float_to_half(1.0f + 1.0f / 2048)), 1.0f);               // tie -> even
  EXPECT_EQ(half_to_float(float_to_half(1.0f + 3.0f / 2048)), 1.0f + 2.0f / 1024);  // tie -> even (up)
  EXPECT_EQ(half_to_float(float_to_half(65519.0f)), 65504.0f);
  EXPECT_TRUE(std::isinf(half_to_float(float_to_half(65520.0f))));
  EXPECT_EQ(half_to_float(float_to_half(std::ldexp(1.0f, -24))), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(half_to_float(float_to_half(std::ldexp(1.0f, -26))), 0.0f);
}

TEST(Fp16, ErrorWithinHalfAnUlp) {
  for (float f = -70000.0f; f < 70000.0f; f += 13.37f) {
    const float r = round_to_half(f);
    if (std::isinf(r)) continue;
    EXPECT_LE(std::abs(r - f), std::abs(f) * std::ldexp(1.0f, -11) + std::ldexp(1.0f, -25)) << f;
  }
}
