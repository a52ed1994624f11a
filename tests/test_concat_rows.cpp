// Row-wise concatenation of packed matrices: for every format, stacking packed parts gives word
// for word the packing of the stacked matrix (round-to-nearest quantizes each row on its own),
// including a last part that ends in a partial tile; mismatched parts are refused.
#include <gtest/gtest.h>

#include "common/error.h"
#include "gpu_test.h"
#include "quant/lowbit_bench_weights.h"
#include "quant/packing.h"

using namespace bitlens;
using namespace bitlens::quant;

namespace {

PackedMatrix pack_as(const std::vector<float>& w, uint32_t rows, uint32_t cols, Format f, uint32_t group) {
  if (format_info(f).grouped) return pack(quantize_rtn(w, rows, cols, format_info(f).bits, group));
  return pack_float(w, rows, cols, f);
}

TEST(ConcatRows, EqualsPackingTheStackedMatrix) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t cols = 100, rows[] = {16, 8, 13};  // the last part ends in a partial tile
  for (const auto& info : all_formats()) {
    if (info.kind == FormatKind::LowBit) continue;  // never stacked: RefusesLowBitFormats
    for (uint32_t g : info.grouped ? supported_group_sizes() : std::vector<uint32_t>{0}) {
      std::vector<float> all;
      std::vector<PackedMatrix> parts;
      for (uint32_t i = 0; i < 3; ++i) {
        const auto w = test::random_normal(size_t(rows[i]) * cols, seed + i, 0.05f);
        all.insert(all.end(), w.begin(), w.end());
        parts.push_back(pack_as(w, rows[i], cols, info.format, g));
      }
      const PackedMatrix stacked = concat_rows({&parts[0], &parts[1], &parts[2]});
      const PackedMatrix ref = pack_as(all, 37, cols, info.format, g);
      EXPECT_EQ(stacked.layout.rows, 37u);
      EXPECT_EQ(stacked.words, ref.words) << info.name << " g" << g;
    }
  }
}

TEST(ConcatRows, RefusesMismatchedParts) {
  const auto w = test::random_normal(16 * 64, 1, 0.05f);
  const PackedMatrix q4 = pack(quantize_rtn(w, 16, 64, 4, 64)), q4g32 = pack(quantize_rtn(w, 16, 64, 4, 32));
  const PackedMatrix q2 = pack(quantize_rtn(w, 16, 64, 2, 64)), narrow = pack(quantize_rtn(w, 32, 32, 4, 64));
  const PackedMatrix partial = pack(quantize_rtn(w, 4, 256, 4, 64));
  EXPECT_THROW(concat_rows({&q4, &q2}), Error);
  EXPECT_THROW(concat_rows({&q4, &q4g32}), Error);
  EXPECT_THROW(concat_rows({&q4, &narrow}), Error);
  EXPECT_FALSE(can_concat_rows({&partial, &partial}));  // the first part ends in a partial tile
  EXPECT_THROW(concat_rows({}), Error);
}

TEST(ConcatRows, RefusesLowBitFormats) {
  for (Format f : {Format::Mixed, Format::Ptq161, Format::Ternary, Format::TritPlane}) {
    const PackedMatrix m = lowbit_bench_weights(f, 16, 64);
    EXPECT_FALSE(can_concat_rows({&m, &m})) << format_info(f).name;
    EXPECT_THROW(concat_rows({&m, &m}), Error) << format_info(f).name;
  }
}

}  // namespace
