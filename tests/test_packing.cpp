// Tiled packing: pack/unpack round trips for every format, group size and awkward shape, and
// honest bits-per-weight figures.
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/fp16.h"
#include "gpu_test.h"
#include "quant/packing.h"

using namespace bitlens;
using namespace bitlens::quant;

namespace {
const std::pair<uint32_t, uint32_t> kShapes[] = {{1, 1}, {7, 33}, {8, 32}, {13, 100}, {288, 288}, {768, 288}, {288, 768}};
}

TEST(Packing, GroupedRoundTripIsExact) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (uint32_t bits : {2u, 3u, 4u, 8u})
    for (uint32_t g : supported_group_sizes())
      for (auto [rows, cols] : kShapes) {
        const auto w = test::random_normal(size_t(rows) * cols, seed ^ (rows * 131 + cols), 0.05f);
        const QuantizedMatrix m = quantize_rtn(w, rows, cols, bits, g);
        const PackedMatrix p = pack(m);
        ASSERT_EQ(p.words.size(), p.layout.total_words());
        const QuantizedMatrix u = unpack(p);
        EXPECT_EQ(u.codes, m.codes) << bits << " bits g" << g << " " << rows << "x" << cols;
        EXPECT_EQ(u.scale, m.scale);
        EXPECT_EQ(u.offset, m.offset);
        EXPECT_EQ(dequantize(p), dequantize(m));
      }
}

TEST(Packing, FloatRoundTrip) {
  const uint64_t seed = test::fresh_seed();
  for (auto [rows, cols] : kShapes) {
    const auto w = test::random_normal(size_t(rows) * cols, seed + rows, 1.0f);
    EXPECT_EQ(dequantize(pack_float(w, rows, cols, Format::F32)), w);
    const auto h = dequantize(pack_float(w, rows, cols, Format::F16));
    for (size_t i = 0; i < w.size(); ++i) EXPECT_EQ(h[i], round_to_half(w[i]));
  }
}

TEST(Packing, BitsPerWeightCountsEverything) {
  // No padding: 288 x 768 (rows multiple of 8, cols multiple of 32 and of every group size).
  EXPECT_DOUBLE_EQ((PackedLayout{Format::Q2, 288, 768, 64}).bpw(), 2.0 + 32.0 / 64);
  EXPECT_DOUBLE_EQ((PackedLayout{Format::Q3, 288, 768, 128}).bpw(), 3.0 + 32.0 / 128);
  EXPECT_DOUBLE_EQ((PackedLayout{Format::Q4, 288, 768, 32}).bpw(), 4.0 + 1.0);
  EXPECT_DOUBLE_EQ((PackedLayout{Format::F16, 288, 768, 0}).bpw(), 16.0);
  // 288 columns with group 64: 5 groups per row (the last one shorter).
  EXPECT_DOUBLE_EQ((PackedLayout{Format::Q2, 768, 288, 64}).bpw(), 2.0 + 5 * 32.0 / 288);
  // Padding is counted: 13 rows are stored as 16, 100 columns as 128.
  EXPECT_DOUBLE_EQ((PackedLayout{Format::Q4, 13, 100, 32}).bpw(), (16.0 * 128 * 4 + 16.0 * 4 * 32) / (13.0 * 100));
}

TEST(Packing, RefusesWhatKernelsCannotRun) {
  EXPECT_THROW(validate(PackedLayout{Format::Q4, 0, 64, 64}), UnsupportedError);
  EXPECT_THROW(validate(PackedLayout{Format::Q4, 64, 64, 16}), UnsupportedError);
  EXPECT_THROW(validate(PackedLayout{Format::Q4, 1u << 25, 64, 64}), UnsupportedError);
  EXPECT_THROW(parse_format("q5"), UnsupportedError);
  EXPECT_THROW(format_for_bits(6), UnsupportedError);
}
