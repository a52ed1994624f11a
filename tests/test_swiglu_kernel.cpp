// SwiGLU kernel against model::swiglu on fresh random gate/up rows laid side by side (a fused
// W1/W3 output), widths a multiple of 4 or not; the up half and the padding must stay untouched.
// Tolerance: 1e-6 * |ref| + 1e-7 per element (one exp, one divide and two products in fp32).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "common/error.h"
#include "gpu_test.h"
#include "kernels/matmul.h"
#include "kernels/swiglu.h"
#include "model/cpu_ops.h"
#include "op_test_util.h"

using namespace bitlens;

namespace {

class SwiGluKernel : public test::GpuTest, public ::testing::WithParamInterface<uint32_t> {};

TEST_P(SwiGluKernel, MatchesCpuReference) {
  const uint32_t width = GetParam(), n = 4;
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t half = kernels::activation_stride(width), stride = 2 * half + 4, offset = 4;
  std::vector<float> data(offset + size_t(n) * stride + 8);
  for (auto& v : data) std::memcpy(&v, &test::kPoison, 4);
  const auto gate = test::random_normal(size_t(n) * width, seed, 3.0f), up = test::random_normal(size_t(n) * width, seed + 1);
  for (uint32_t t = 0; t < n; ++t)
    for (uint32_t i = 0; i < width; ++i) {
      data[offset + t * stride + i] = gate[size_t(t) * width + i];
      data[offset + t * stride + half + i] = up[size_t(t) * width + i];
    }
  vk::Buffer h(ctx(), data.size() * 4);
  h.upload(data.data(), data.size() * 4);
  kernels::SwiGlu op(gpu(), width, h);
  vk::CommandBuffer cmd(ctx());
  op.record(cmd, {n, offset, offset + half, stride});
  cmd.submit_and_wait();
  const auto got = test::download_floats(h);
  for (uint32_t t = 0; t < n; ++t) {
    std::vector<float> ref(gate.begin() + size_t(t) * width, gate.begin() + size_t(t + 1) * width);
    model::swiglu(ref, std::span<const float>(up).subspan(size_t(t) * width, width));
    for (uint32_t i = 0; i < width; ++i)
      ASSERT_NEAR(got[offset + t * stride + i], ref[i], 1e-6 * std::abs(ref[i]) + 1e-7) << "token " << t << " i " << i;
  }
  for (size_t i = 0; i < got.size(); ++i) {
    const bool gate_part = i >= offset && (i - offset) / stride < n && (i - offset) % stride < width;
    if (gate_part) continue;
    uint32_t a, b;
    std::memcpy(&a, &got[i], 4);
    std::memcpy(&b, &data[i], 4);
    ASSERT_EQ(a, b) << "swiglu wrote outside the gate rows at " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Widths, SwiGluKernel, ::testing::Values(768u, 100u, 7u, 1u),
                         [](const auto& info) { return "w" + std::to_string(info.param); });

class SwiGluArgs : public test::GpuTest {};

TEST_F(SwiGluArgs, RefusesOverlapsAndSmallBuffers) {
  vk::Buffer h(ctx(), 64 * 4);
  kernels::SwiGlu op(gpu(), 16, h);
  vk::CommandBuffer cmd(ctx());
  EXPECT_THROW(op.record(cmd, {1, 0, 8, 32}), Error);   // gate and up overlap
  EXPECT_THROW(op.record(cmd, {2, 0, 16, 40}), Error);  // second row past the buffer
  EXPECT_THROW(op.record(cmd, {2, 0, 16, 24}), Error);  // rows overlap
}

}  // namespace
