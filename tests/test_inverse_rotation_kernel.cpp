// Inverse Hadamard rotation on the device against quant::rotate_inverse for every supported m and
// several 2^k, with and without random signs, on fresh random rows; rows outside the rotated range
// are poisoned and must stay untouched.
// Tolerance: 1e-5 * ||row||_2 per element (the transform is orthogonal, fp32 throughout).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "common/error.h"
#include "gpu_test.h"
#include "kernels/inverse_rotation.h"
#include "op_test_util.h"
#include "quant/hadamard.h"

using namespace bitlens;

namespace {

class InverseRotationKernel : public test::GpuTest, public ::testing::WithParamInterface<uint32_t> {};

TEST_P(InverseRotationKernel, MatchesCpuReference) {
  const uint32_t n = GetParam();
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t rows = 3, stride = n + 4, offset = 8;
  for (bool with_signs : {true, false}) {
    const auto signs = with_signs ? quant::random_sign_bits(n, seed) : std::vector<uint32_t>{};
    kernels::InverseRotation rot(gpu(), n, signs);
    std::vector<float> data(offset + size_t(rows + 1) * stride);
    for (auto& v : data) std::memcpy(&v, &test::kPoison, 4);
    const auto x = test::random_normal(size_t(rows) * n, seed + 7);
    for (uint32_t r = 0; r < rows; ++r) std::memcpy(&data[offset + r * stride], &x[size_t(r) * n], n * 4);
    vk::Buffer buf(ctx(), data.size() * 4);
    buf.upload(data.data(), data.size() * 4);
    rot.bind(buf);
    vk::CommandBuffer cmd(ctx());
    rot.record(cmd, rows, offset, stride);
    cmd.submit_and_wait();
    const auto got = test::download_floats(buf);
    for (uint32_t r = 0; r < rows; ++r) {
      std::vector<float> ref(x.begin() + size_t(r) * n, x.begin() + size_t(r + 1) * n);
      double norm = 0;
      for (float v : ref) norm += double(v) * v;
      quant::rotate_inverse(ref, signs);
      for (uint32_t i = 0; i < n; ++i)
        ASSERT_NEAR(got[offset + r * stride + i], ref[i], 1e-5 * std::sqrt(norm)) << "row " << r << " i " << i;
    }
    for (size_t i = 0; i < got.size(); ++i) {
      const bool inside = i >= offset && (i - offset) / stride < rows && (i - offset) % stride < n;
      if (inside) continue;
      ASSERT_TRUE(test::is_poison(got[i])) << "inverse rotation wrote outside its rows at " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Widths, InverseRotationKernel,
                         ::testing::Values(1u, 64u, 12u, 96u, 768u, 20u, 160u, 28u, 448u, 36u, 288u, 4608u),
                         [](const auto& info) { return "n" + std::to_string(info.param); });

class InverseRotationArgs : public test::GpuTest {};

TEST_F(InverseRotationArgs, RefusesBadArguments) {
  EXPECT_THROW(kernels::InverseRotation(gpu(), 11008, {}), UnsupportedError);
  EXPECT_THROW(kernels::InverseRotation(gpu(), 64, std::vector<uint32_t>(3)), Error);
  kernels::InverseRotation rot(gpu(), 64, {});
  vk::Buffer buf(ctx(), 64 * 4);
  vk::CommandBuffer cmd(ctx());
  EXPECT_THROW(rot.record(cmd, 1), Error);  // not bound
  rot.bind(buf);
  EXPECT_THROW(rot.record(cmd, 2), Error);  // two rows do not fit
}

}  // namespace
