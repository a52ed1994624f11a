// RMSNorm kernel (a row per invocation and a row per workgroup) against model::rmsnorm on fresh
// random rows of several widths (multiples of 4 or not, up to the kernel's limit), with row
// offsets and padded strides; outputs poisoned, and everything outside the rows must stay so.
// Tolerance: |out - ref| <= 1e-5 * |w * x| * inv_rms + 1e-7 (the kernel sums squares in fp32,
// the reference in double).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "common/error.h"
#include "gpu_test.h"
#include "kernels/matmul.h"
#include "kernels/rmsnorm.h"
#include "model/cpu_ops.h"
#include "op_test_util.h"

using namespace bitlens;

namespace {

struct Case {
  uint32_t width;
  kernels::Strategy strategy;  // row per invocation or row per workgroup
};

class RmsNormKernel : public test::GpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(RmsNormKernel, MatchesCpuReference) {
  const auto [width, strategy] = GetParam();
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  gpu().set_strategy(strategy);
  const uint32_t n = 67, stride = kernels::activation_stride(width) + 4, x_off = 4, out_off = 12, w_off = 16;
  const float eps = 1e-5f;
  const auto x = test::random_normal(size_t(n) * width, seed, 2.0f);
  const auto w = test::random_normal(width, seed + 2);
  auto place = [&](vk::Buffer& b, const std::vector<float>& v, uint32_t offset, uint32_t rows) {
    for (uint32_t t = 0; t < rows; ++t)
      b.upload(&v[size_t(t) * width], width * 4, (offset + size_t(t) * stride) * 4);
  };
  const size_t floats = 16 + size_t(n) * stride + 16;
  vk::Buffer xb = test::poisoned_buffer(ctx(), floats);
  vk::Buffer wb = test::poisoned_buffer(ctx(), w_off + kernels::activation_stride(width));
  vk::Buffer out = test::poisoned_buffer(ctx(), floats);
  place(xb, x, x_off, n);
  place(wb, w, w_off, 1);

  kernels::RmsNorm norm(gpu(), width, eps, xb, wb, out);
  vk::CommandBuffer cmd(ctx());
  norm.record(cmd, {n, x_off, stride, out_off, stride, w_off});
  cmd.submit_and_wait();
  const auto got = test::download_floats(out);

  for (uint32_t t = 0; t < n; ++t) {
    const std::vector<float> in(x.begin() + size_t(t) * width, x.begin() + size_t(t + 1) * width);
    std::vector<float> ref(width);
    model::rmsnorm(ref, in, w, eps);
    double ss = 0;
    for (float v : in) ss += double(v) * v;
    const double inv = 1.0 / std::sqrt(ss / width + eps);
    for (uint32_t i = 0; i < width; ++i) {
      ASSERT_NEAR(got[out_off + t * stride + i], ref[i], 1e-5 * std::abs(w[i] * in[i]) * inv + 1e-7)
          << "row " << t << " element " << i;
    }
  }
  for (size_t i = 0; i < got.size(); ++i) {
    const bool inside = i >= out_off && (i - out_off) / stride < n && (i - out_off) % stride < width;
    if (inside) continue;
    ASSERT_TRUE(test::is_poison(got[i])) << "rmsnorm wrote outside its rows at " << i;
  }
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (auto strategy : {kernels::Strategy::TilePerInvocation, kernels::Strategy::TilePerSubgroup})
    for (uint32_t width : {288u, 100u, 18u, 6u, 4097u, 8192u}) cases.push_back({width, strategy});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Widths, RmsNormKernel, ::testing::ValuesIn(all_cases()), [](const auto& info) {
  const Case& c = info.param;
  return "w" + std::to_string(c.width) +
         (c.strategy == kernels::Strategy::TilePerInvocation ? "_row_per_invocation" : "_row_per_workgroup");
});

class RmsNormArgs : public test::GpuTest {};

TEST_F(RmsNormArgs, RefusesBadArguments) {
  vk::Buffer x(ctx(), 64 * 4), w(ctx(), 64 * 4), out(ctx(), 64 * 4);
  EXPECT_THROW(kernels::RmsNorm(gpu(), 8193, 1e-5f, x, w, out), UnsupportedError);
  kernels::RmsNorm norm(gpu(), 32, 1e-5f, x, w, out);
  vk::CommandBuffer cmd(ctx());
  EXPECT_THROW(norm.record(cmd, {3}), Error);                 // three rows do not fit
  EXPECT_THROW(norm.record(cmd, {1, 2}), Error);              // offset not a multiple of 4
  EXPECT_THROW(norm.record(cmd, {1, 0, 0, 0, 0, 60}), Error);  // weights past their buffer
}

}  // namespace
