// Low-bit layouts: trit word coding, pack/unpack round trips for every low-bit format and awkward
// shape on fresh random logical matrices, dequantize(pack(m)) == dequantize(m), honest bpw, and
// refusals of malformed buffers.
#include <gtest/gtest.h>

#include <random>

#include "common/error.h"
#include "common/fp16.h"
#include "gpu_test.h"
#include "quant/layouts/mixed.h"
#include "quant/layouts/ternary.h"
#include "quant/lowbit.h"

using namespace bitlens;
using namespace bitlens::quant;

namespace {

const std::pair<uint32_t, uint32_t> kShapes[] = {{1, 1}, {7, 33}, {8, 32}, {13, 100}, {33, 129}, {288, 288}, {768, 288}, {288, 768}};

uint16_t random_half(std::mt19937_64& rng, float lo, float hi) {
  return float_to_half(std::uniform_real_distribution<float>(lo, hi)(rng));
}

int8_t random_trit(std::mt19937_64& rng) { return int8_t(int(rng() % 3) - 1); }

MixedMatrix random_mixed(uint32_t rows, uint32_t cols, uint32_t g, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const uint32_t groups = (cols + g - 1) / g;
  std::vector<uint8_t> bits(groups);
  for (auto& b : bits) b = uint8_t(1 + rng() % 4);
  MixedMatrix m = make_mixed(rows, cols, g, bits);
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t c = 0; c < cols; ++c) m.codes[size_t(r) * cols + c] = uint8_t(rng() % (1u << bits[c / g]));
  for (size_t i = 0; i < m.scale.size(); ++i) {
    m.scale[i] = random_half(rng, 0.001f, 0.1f);
    m.offset[i] = random_half(rng, -0.2f, 0.2f);
  }
  return m;
}

Ptq161Matrix random_ptq161(uint32_t rows, uint32_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> salient;
  for (uint32_t c = 0; c < cols; ++c)
    if (rng() % 5 == 0) salient.push_back(c);
  Ptq161Matrix m = make_ptq161(rows, cols, salient);
  const std::vector<int32_t> slot = m.salient_slot();
  for (size_t i = 0; i < m.signs.size(); ++i) m.signs[i] = slot[i % cols] >= 0 ? 0 : uint8_t(rng() & 1u);
  for (auto& q : m.codes) q = uint8_t(rng() % 16);
  for (uint32_t r = 0; r < rows; ++r) {
    m.alpha[r] = random_half(rng, 0.001f, 0.1f);
    m.mu[r] = random_half(rng, -0.01f, 0.01f);
    m.sscale[r] = random_half(rng, 0.001f, 0.1f);
    m.soffset[r] = random_half(rng, -0.5f, 0.5f);
  }
  return m;
}

}  // namespace

TEST(TernaryLayout, WordCodingRoundTripsEveryDigitPattern) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (uint32_t n : {16u, 20u}) {
    uint8_t d[20], back[20];
    // Extremes (all 0, all 2, alternating) and random patterns.
    for (int pattern = 0; pattern < 20003; ++pattern) {
      for (uint32_t k = 0; k < n; ++k)
        d[k] = pattern == 0 ? 0 : pattern == 1 ? 2 : pattern == 2 ? uint8_t(k % 3) : uint8_t(rng() % 3);
      ternary::decode_word(ternary::encode_word(d, n), n, back);
      for (uint32_t k = 0; k < n; ++k) ASSERT_EQ(back[k], d[k]) << "n " << n << " pattern " << pattern << " digit " << k;
    }
  }
}

TEST(LowBitPacking, MixedRoundTrip) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (uint32_t g : supported_group_sizes())
    for (auto [rows, cols] : kShapes) {
      const MixedMatrix m = random_mixed(rows, cols, g, seed ^ (rows * 131 + cols + g));
      const PackedMatrix p = pack(m);
      ASSERT_EQ(p.words.size(), p.layout.total_words());
      const MixedMatrix u = unpack_mixed(p);
      EXPECT_EQ(u.group_bits, m.group_bits);
      EXPECT_EQ(u.codes, m.codes) << "g" << g << " " << rows << "x" << cols;
      EXPECT_EQ(u.scale, m.scale);
      EXPECT_EQ(u.offset, m.offset);
      EXPECT_EQ(dequantize(p), dequantize(m));
    }
}

TEST(LowBitPacking, Ptq161RoundTrip) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (auto [rows, cols] : kShapes) {
    const Ptq161Matrix m = random_ptq161(rows, cols, seed ^ (rows * 131 + cols));
    const PackedMatrix p = pack(m);
    ASSERT_EQ(p.words.size(), p.layout.total_words());
    const Ptq161Matrix u = unpack_ptq161(p);
    EXPECT_EQ(u.salient, m.salient);
    EXPECT_EQ(u.signs, m.signs) << rows << "x" << cols;
    EXPECT_EQ(u.codes, m.codes);
    EXPECT_EQ(u.alpha, m.alpha);
    EXPECT_EQ(u.mu, m.mu);
    EXPECT_EQ(u.sscale, m.sscale);
    EXPECT_EQ(u.soffset, m.soffset);
    EXPECT_EQ(dequantize(p), dequantize(m));
  }
}

TEST(LowBitPacking, TernaryAndTritPlaneRoundTrip) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (uint32_t g : supported_group_sizes())
    for (auto [rows, cols] : kShapes) {
      std::mt19937_64 rng(seed ^ (rows * 131 + cols + g));
      TernaryMatrix t = make_ternary(rows, cols, g);
      for (auto& v : t.trits) v = random_trit(rng);
      for (auto& s : t.scale) s = random_half(rng, 0.001f, 0.1f);
      const PackedMatrix pt = pack(t);
      const TernaryMatrix ut = unpack_ternary(pt);
      EXPECT_EQ(ut.trits, t.trits) << "g" << g << " " << rows << "x" << cols;
      EXPECT_EQ(ut.scale, t.scale);
      EXPECT_EQ(dequantize(pt), dequantize(t));

      TritPlaneMatrix tp = make_tritplane(rows, cols, g);
      for (auto& v : tp.t1) v = random_trit(rng);
      for (auto& v : tp.t2) v = random_trit(rng);
      for (auto& s : tp.a1) s = random_half(rng, 0.01f, 0.1f);
      for (auto& s : tp.a2) s = random_half(rng, -0.05f, 0.05f);
      const PackedMatrix pp = pack(tp);
      const TritPlaneMatrix up = unpack_tritplane(pp);
      EXPECT_EQ(up.t1, tp.t1);
      EXPECT_EQ(up.t2, tp.t2);
      EXPECT_EQ(up.a1, tp.a1);
      EXPECT_EQ(up.a2, tp.a2);
      EXPECT_EQ(dequantize(pp), dequantize(tp));
    }
}

TEST(LowBitPacking, BitsPerWeightCountsEverything) {
  // 288 x 768: rows a multiple of 8, columns of 32 and of every group size.
  EXPECT_DOUBLE_EQ((PackedLayout{Format::Ternary, 288, 768, 64}).bpw(), 1.625 + 16.0 / 64);
  EXPECT_DOUBLE_EQ((PackedLayout{Format::TritPlane, 288, 768, 128}).bpw(), 3.25 + 32.0 / 128);
  // Mixed: widths 1, 2, 3, 2, 2, 2 over six groups of 128: 12 * 4 = 48 words per row of a tile.
  const uint32_t wpr = (1 + 2 + 3 + 2 + 2 + 2) * 4;
  EXPECT_DOUBLE_EQ((PackedLayout{Format::Mixed, 288, 768, 128, wpr}).bpw(),
                   2.0 + 32.0 / 128 + 32.0 * 8 / (288.0 * 768));  // table: 7 entries padded to 8 words
  // PTQ1.61 with 154 of 768 salient columns (20%): sign plane 1 bit, 3 more per salient weight
  // (154 slots padded to 5 chunks of 32), row parameters 64 bits per row, mask 768 bits, index
  // 77 words padded to 80, meta 4 words.
  const double ptq_words = 288.0 * 24 + 4 + 36 * 16 + 24 + 80 + 36 * 5 * 24;
  EXPECT_DOUBLE_EQ((PackedLayout{Format::Ptq161, 288, 768, 0, 154}).bpw(), ptq_words * 32 / (288.0 * 768));
  // At 4096 x 4096 and k = 0.2 (819 salient, 832 slots) the masks are negligible: 1 + 3k + 64/cols.
  EXPECT_NEAR((PackedLayout{Format::Ptq161, 4096, 4096, 0, 819}).bpw(), 1.0 + 3 * 832.0 / 4096 + 64.0 / 4096, 0.002);
}

TEST(LowBitPacking, RefusesMalformedInput) {
  EXPECT_THROW(make_mixed(8, 64, 32, {1, 5}), UnsupportedError);
  EXPECT_THROW(make_mixed(8, 64, 32, {1}), Error);
  EXPECT_THROW(make_ternary(8, 64, 48), UnsupportedError);
  EXPECT_THROW(make_ptq161(8, 64, {3, 3}), Error);
  EXPECT_THROW(make_ptq161(8, 64, {70}), Error);
  EXPECT_THROW(validate(PackedLayout{Format::Ptq161, 8, 1u << 17, 0, 0}), UnsupportedError);
  EXPECT_THROW(validate(PackedLayout{Format::Mixed, 8, 64, 32, 9}), UnsupportedError);
  EXPECT_THROW(parse_format("ternary5"), UnsupportedError);
  EXPECT_EQ(parse_format("tritplane"), Format::TritPlane);
  EXPECT_EQ(format_for_bits(2), Format::Q2);

  MixedMatrix m = random_mixed(8, 64, 32, 7);
  PackedMatrix p = pack(m);
  p.words[0] = mixed::table_entry(7, 0);  // width 7 is not a mixed width
  EXPECT_THROW(unpack_mixed(p), Error);
  p = pack(m);
  p.words.pop_back();
  EXPECT_THROW(unpack_mixed(p), Error);
  EXPECT_THROW(unpack_ternary(pack(m)), UnsupportedError);

  Ptq161Matrix t = random_ptq161(8, 64, 9);
  PackedMatrix pt = pack(t);
  pt.words[pt.layout.params_offset_words() + 1] += 4;  // section table entry moved
  EXPECT_THROW(unpack_ptq161(pt), Error);
}
