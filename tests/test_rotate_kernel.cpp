// Hadamard rotation kernels (forward and inverse) against the CPU references quant::rotate and
// quant::rotate_inverse for every supported m and several 2^k, with both work strategies (the
// register kernel of CPU devices and the shared-memory kernel), on fresh random rows, also in
// several parts with their own sign vectors and added to the rows of another buffer; elements
// outside the rotated rows are poisoned and must stay untouched.
// Tolerance: 1e-5 * ||row||_2 per element (the transform is orthogonal, fp32 throughout).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "common/error.h"
#include "gpu_test.h"
#include "kernels/rotate.h"
#include "quant/hadamard.h"

using namespace bitlens;
using kernels::Rotation;
using kernels::Strategy;

namespace {

struct Case {
  uint32_t n;
  Strategy strategy;
  Rotation::Direction direction;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  return "n" + std::to_string(c.n) + (c.strategy == Strategy::TilePerInvocation ? "_rows" : "_workgroup") +
         (c.direction == Rotation::Direction::Forward ? "_forward" : "_inverse");
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (auto strategy : {Strategy::TilePerInvocation, Strategy::TilePerSubgroup})
    for (auto direction : {Rotation::Direction::Forward, Rotation::Direction::Inverse})
      for (uint32_t n : {1u, 2u, 8u, 16u, 32u, 64u, 4096u, 8192u, 12u, 24u, 48u, 96u, 768u, 20u, 40u, 80u, 160u, 640u,
                         28u, 56u, 112u, 448u, 72u, 144u,
                         36u, 288u, 576u, 1152u, 4608u})
        cases.push_back({n, strategy, direction});
  return cases;
}

// Whether the register kernel must serve width n on this device with rows at this offset and stride.
bool expect_row_kernel(kernels::Gpu& gpu, uint32_t n, uint32_t offset, uint32_t stride, uint32_t parts) {
  const auto& caps = gpu.caps();
  if (gpu.strategy() != Strategy::TilePerInvocation || !caps.subgroup_shuffle || caps.subgroup_size < 8 ||
      caps.subgroup_size > 64)
    return false;
  const uint32_t p = 1u << quant::hadamard_factor(n).log2_p;
  const uint32_t w = p >= 32 ? 4 : 1;
  return p >= 8 && n <= 4096 && offset % w == 0 && stride % w == 0 && parts * ((n + 31) / 32) <= 256;
}

class RotateKernel : public test::GpuTest, public ::testing::WithParamInterface<Case> {
 protected:
  // Rotates `rows` rows at (offset, stride) on the device, in `parts` parts part_stride floats
  // apart with their own signs, and checks them against the reference.
  // With `accumulate` the rotated rows are added to random rows of a second buffer, and the
  // source must stay as it was.
  void check(uint32_t rows, uint32_t offset, uint32_t stride, bool with_signs, uint64_t seed, uint32_t parts = 1,
             uint32_t part_stride = 0, bool accumulate = false) {
    const Case c = GetParam();
    const uint32_t n = c.n;
    std::vector<std::vector<uint32_t>> part_signs(parts);
    std::vector<uint32_t> signs;
    for (uint32_t j = 0; j < parts && with_signs; ++j) {
      part_signs[j] = quant::random_sign_bits(n, seed + 100 * j);
      signs.insert(signs.end(), part_signs[j].begin(), part_signs[j].end());
    }
    Rotation rot(gpu(), n, signs, c.direction, parts);
    std::vector<float> data(offset + size_t(parts - 1) * part_stride + size_t(rows + 1) * stride);
    for (auto& v : data) std::memcpy(&v, &test::kPoison, 4);
    std::vector<bool> inside(data.size(), false);
    const auto x = test::random_normal(size_t(parts) * rows * n, seed + 7);
    auto at = [&](uint32_t j, uint32_t r) { return offset + size_t(j) * part_stride + size_t(r) * stride; };
    for (uint32_t j = 0; j < parts; ++j)
      for (uint32_t r = 0; r < rows; ++r) {
        std::memcpy(&data[at(j, r)], &x[(size_t(j) * rows + r) * n], n * 4);
        std::fill_n(inside.begin() + at(j, r), n, true);
      }
    vk::Buffer buf(ctx(), data.size() * 4);
    buf.upload(data.data(), data.size() * 4);
    std::vector<float> base(data.size());  // what the destination rows hold before
    for (auto& v : base) std::memcpy(&v, &test::kPoison, 4);
    const auto d = test::random_normal(data.size(), seed + 9);
    for (size_t i = 0; i < base.size(); ++i)
      if (inside[i] && accumulate) base[i] = d[i];
    vk::Buffer dest(ctx(), base.size() * 4);
    dest.upload(base.data(), base.size() * 4);
    rot.bind(buf, accumulate ? &dest : nullptr);
    EXPECT_EQ(rot.uses_row_kernel(offset, stride), expect_row_kernel(gpu(), n, offset, stride, parts));
    vk::CommandBuffer cmd(ctx());
    rot.record(cmd, rows, offset, stride, part_stride);
    cmd.submit_and_wait();
    std::vector<float> got(data.size());
    (accumulate ? dest : buf).download(got.data(), got.size() * 4);
    if (accumulate) {
      std::vector<float> source(data.size());
      buf.download(source.data(), source.size() * 4);
      ASSERT_EQ(std::memcmp(source.data(), data.data(), data.size() * 4), 0) << "the source rows changed";
    }
    for (uint32_t j = 0; j < parts; ++j)
      for (uint32_t r = 0; r < rows; ++r) {
        std::vector<float> ref(x.begin() + (size_t(j) * rows + r) * n, x.begin() + (size_t(j) * rows + r + 1) * n);
        double norm = 0;
        for (float v : ref) norm += double(v) * v;
        if (c.direction == Rotation::Direction::Forward) quant::rotate(ref, part_signs[j]);
        else quant::rotate_inverse(ref, part_signs[j]);
        for (uint32_t i = 0; i < n; ++i) {
          const double before = accumulate ? base[at(j, r) + i] : 0.0;
          ASSERT_NEAR(got[at(j, r) + i], before + ref[i], 1e-5 * (std::sqrt(norm) + std::abs(before)))
              << "part " << j << " row " << r << " i " << i;
        }
      }
    for (size_t i = 0; i < got.size(); ++i) {
      if (inside[i]) continue;
      uint32_t bits;
      std::memcpy(&bits, &got[i], 4);
      ASSERT_EQ(bits, test::kPoison) << "rotation wrote outside its rows at " << i;
    }
  }
};

TEST_P(RotateKernel, MatchesCpuReference) {
  const Case c = GetParam();
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  gpu().set_strategy(c.strategy);
  for (bool with_signs : {true, false}) check(13, 8, c.n + 4, with_signs, seed);
  check(3, 1, c.n + 1, true, seed + 1);  // unaligned rows: the shared-memory kernel serves them
  check(5, 4, 3 * (c.n + 4) + 4, true, seed + 2, 3, c.n + 4);  // three parts side by side in each row
  check(2, 0, c.n, true, seed + 3, 2, 2 * c.n + 8);            // two parts one after the other's rows
  check(4, 4, 2 * (c.n + 4), true, seed + 4, 2, c.n + 4, true);  // added to another buffer's rows
}

INSTANTIATE_TEST_SUITE_P(Widths, RotateKernel, ::testing::ValuesIn(all_cases()), case_name);

// Forward then inverse on the device gives back the input, for both kernels.
class RotateRoundTrip : public test::GpuTest, public ::testing::WithParamInterface<Strategy> {};

TEST_P(RotateRoundTrip, InverseUndoesForward) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  gpu().set_strategy(GetParam());
  for (uint32_t n : {768u, 288u, 4096u}) {
    const auto signs = quant::random_sign_bits(n, seed);
    Rotation fwd(gpu(), n, signs), inv(gpu(), n, signs, Rotation::Direction::Inverse);
    const uint32_t rows = 9;
    const auto x = test::random_normal(size_t(rows) * n, seed + n);
    vk::Buffer buf(ctx(), x.size() * 4);
    buf.upload(x.data(), x.size() * 4);
    fwd.bind(buf);
    inv.bind(buf);
    vk::CommandBuffer cmd(ctx());
    fwd.record(cmd, rows);
    cmd.barrier();
    inv.record(cmd, rows);
    cmd.submit_and_wait();
    std::vector<float> got(x.size());
    buf.download(got.data(), got.size() * 4);
    for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(got[i], x[i], 1e-5f * std::sqrt(float(n))) << "n " << n << " i " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Strategies, RotateRoundTrip,
                         ::testing::Values(Strategy::TilePerInvocation, Strategy::TilePerSubgroup),
                         [](const auto& info) { return info.param == Strategy::TilePerInvocation ? "rows" : "workgroup"; });

class RotateRefusals : public test::GpuTest {};

TEST_F(RotateRefusals, UnsupportedWidthsAndBadArguments) {
  EXPECT_THROW(Rotation(gpu(), 11008, {}), UnsupportedError);
  EXPECT_THROW(Rotation(gpu(), 6, {}), UnsupportedError);
  EXPECT_THROW(Rotation(gpu(), 16384, {}), UnsupportedError);     // beyond shared memory
  EXPECT_THROW(Rotation(gpu(), 64, std::vector<uint32_t>(3)), Error);  // wrong sign length
  Rotation rot(gpu(), 64, {});
  vk::Buffer buf(ctx(), 64 * 4);
  vk::CommandBuffer cmd(ctx());
  EXPECT_THROW(rot.record(cmd, 1), Error);  // not bound
  rot.bind(buf);
  EXPECT_THROW(rot.record(cmd, 2), Error);  // two rows do not fit
  EXPECT_THROW(rot.record(cmd, 1, 0, 32), Error);  // stride smaller than the width
  EXPECT_THROW(Rotation(gpu(), 64, std::vector<uint32_t>(2), Rotation::Direction::Forward, 2), Error);  // 1 vector, 2 parts
  Rotation two(gpu(), 64, {}, Rotation::Direction::Inverse, 2);
  vk::Buffer wide(ctx(), 1024 * 4);
  two.bind(wide);
  EXPECT_THROW(two.record(cmd, 1, 0, 64, 32), Error);      // parts overlap
  EXPECT_THROW(two.record(cmd, 2, 0, 128, 96), Error);     // part 1's first row overlaps part 0's second
  EXPECT_THROW(two.record(cmd, 4, 0, 256, 960), Error);    // beyond the buffer
}

}  // namespace
