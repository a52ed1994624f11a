// Mat-vec and mat-mul kernels of the low-bit formats against their scalar reference, on fresh
// random weights quantized by the formats' own quantizers (random column-group widths for mixed,
// so every width and its branch is exercised), with poisoned outputs, for every format, group size
// (salient fraction for ptq161), shape class (rows not a multiple of the 8-row tile, columns not a
// multiple of the 32-column chunk or of the group), batch and work strategy, as in
// test_matmul_kernel.cpp.
//
// Tolerance: |y - y_ref| <= 1e-5 * T + 1e-6 per element, where y_ref is accumulated in double from
// the scalar reference w_hat and T = sum_c term_c * |x_c| bounds the fp32 terms the kernel adds:
// term = |scale * q| + |offset| (mixed), |a * t| (ternary), |a1 t1| + |a2 t2| (trit-planes),
// |alpha| + |mu| or |sscale * b| + |2 sscale h| + |soffset| (ptq161, binarized or salient).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>

#include "common/error.h"
#include "common/fp16.h"
#include "gpu_test.h"
#include "kernels/matmul.h"
#include "quant/lowbit.h"
#include "quant/ptq161_quant.h"
#include "quant/slim_quant.h"
#include "quant/ternary_quant.h"

using namespace bitlens;
using namespace bitlens::quant;
using bitlens::kernels::Strategy;

namespace {

struct Case {
  Format format;
  uint32_t group;  // group size; for ptq161 the salient percentage
  uint32_t rows, cols, batch;
  Strategy strategy;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  std::string s = format_info(c.format).name;
  s += (c.format == Format::Ptq161 ? "s" : "g") + std::to_string(c.group);
  s += "_" + std::to_string(c.rows) + "x" + std::to_string(c.cols) + "_b" + std::to_string(c.batch);
  s += c.strategy == Strategy::TilePerInvocation ? "_tile_per_invocation" : "_tile_per_subgroup";
  return s;
}

std::vector<Case> all_cases() {
  const std::pair<uint32_t, uint32_t> shapes[] = {{1, 1},     {7, 33},    {8, 32},    {13, 100},  {33, 129},
                                                  {288, 288}, {768, 288}, {288, 768}, {40, 4096}};
  std::vector<Case> cases;
  for (auto strategy : {Strategy::TilePerInvocation, Strategy::TilePerSubgroup})
    for (const FormatInfo& info : all_formats()) {
      if (info.kind != FormatKind::LowBit) continue;
      const Format f = info.format;
      const std::vector<uint32_t> groups =
          f == Format::Ptq161 ? std::vector<uint32_t>{0, 20, 50} : supported_group_sizes();
      for (uint32_t g : groups)
        for (auto [rows, cols] : shapes)
          for (uint32_t batch : {1u, 3u, 17u}) cases.push_back({f, g, rows, cols, batch, strategy});
    }
  return cases;
}

// Packed weights, the scalar reference w_hat and the per-weight term magnitudes.
struct Reference {
  PackedMatrix packed;
  std::vector<float> w_hat, terms;
};

Reference make_reference(const Case& c, uint64_t seed) {
  const auto w = test::random_normal(size_t(c.rows) * c.cols, seed, 0.05f);
  Reference ref;
  ref.terms.resize(w.size());
  auto h = [](uint16_t v) { return std::abs(half_to_float(v)); };
  if (c.format == Format::Mixed) {
    std::mt19937_64 rng(seed);
    std::vector<uint8_t> bits((c.cols + c.group - 1) / c.group);
    for (auto& b : bits) b = uint8_t(1 + rng() % 4);
    const MixedMatrix m = quantize_mixed_rtn(w, c.rows, c.cols, c.group, bits);
    ref.packed = pack(m);
    ref.w_hat = dequantize(m);
    for (uint32_t r = 0; r < c.rows; ++r)
      for (uint32_t k = 0; k < c.cols; ++k) {
        const QParams p = m.params(r, k / c.group);
        ref.terms[size_t(r) * c.cols + k] = std::abs(p.scale * m.codes[size_t(r) * c.cols + k]) + std::abs(p.offset);
      }
  } else if (c.format == Format::Ternary) {
    const TernaryMatrix m = quantize_ternary(w, c.rows, c.cols, c.group);
    ref.packed = pack(m);
    ref.w_hat = dequantize(m);
    for (size_t i = 0; i < w.size(); ++i) ref.terms[i] = std::abs(ref.w_hat[i]);
  } else if (c.format == Format::TritPlane) {
    const TritPlaneMatrix m = quantize_tritplane(w, c.rows, c.cols, c.group);
    ref.packed = pack(m);
    ref.w_hat = dequantize(m);
    for (uint32_t r = 0; r < c.rows; ++r)
      for (uint32_t k = 0; k < c.cols; ++k) {
        const size_t i = size_t(r) * c.cols + k, g = size_t(r) * m.groups() + k / c.group;
        ref.terms[i] = h(m.a1[g]) * std::abs(m.t1[i]) + h(m.a2[g]) * std::abs(m.t2[i]);
      }
  } else if (c.format == Format::Ptq161) {
    Ptq161Options o;
    o.salient_fraction = c.group / 100.0;
    const auto magnitude = test::random_normal(c.cols, seed + 7);
    const Ptq161Matrix m = quantize_ptq161(w, c.rows, c.cols, magnitude, nullptr, o);
    ref.packed = pack(m);
    ref.w_hat = dequantize(m);
    const auto slot = m.salient_slot();
    for (uint32_t r = 0; r < c.rows; ++r)
      for (uint32_t k = 0; k < c.cols; ++k) {
        const size_t i = size_t(r) * c.cols + k;
        if (slot[k] < 0) {
          ref.terms[i] = h(m.alpha[r]) + h(m.mu[r]);
        } else {
          const uint32_t q = m.codes[size_t(r) * m.salient.size() + slot[k]];
          ref.terms[i] = h(m.sscale[r]) * float((q & 1u) + 2 * (q >> 1)) + h(m.soffset[r]);
        }
      }
  } else {
    throw Error(std::string("no scalar reference for the low-bit format ") + format_info(c.format).name);
  }
  return ref;
}

class LowBitKernel : public test::GpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(LowBitKernel, MatchesScalarReference) {
  const Case c = GetParam();
  if (c.strategy == Strategy::TilePerSubgroup && !gpu().caps().subgroup_arithmetic) GTEST_SKIP();
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  gpu().set_strategy(c.strategy);

  const Reference ref = make_reference(c, seed);
  kernels::GpuMatrix gw(gpu(), ref.packed);

  // Activations: batch rows with a padded stride; the padding holds NaN, which must not be read.
  const uint32_t stride = kernels::activation_stride(c.cols);
  std::vector<float> x(std::max<size_t>(size_t(c.batch) * stride, 16384), std::nanf(""));
  const auto xr = test::random_normal(size_t(c.batch) * c.cols, seed + 1);
  for (uint32_t t = 0; t < c.batch; ++t) std::memcpy(&x[size_t(t) * stride], &xr[size_t(t) * c.cols], c.cols * 4);
  vk::Buffer xb(ctx(), x.size() * 4);
  xb.upload(x.data(), x.size() * 4);

  // Output poisoned, with a poisoned margin after it that must stay untouched.
  const size_t y_count = size_t(c.batch) * c.rows, margin = 64;
  vk::Buffer yb(ctx(), (y_count + margin) * 4);
  yb.fill(test::kPoison);

  kernels::MatMul mm(gpu(), gw, xb, yb);
  vk::CommandBuffer cmd(ctx());
  mm.record(cmd, {c.batch, 0, stride});
  cmd.submit_and_wait();
  std::vector<float> y(y_count + margin);
  yb.download(y.data(), y.size() * 4);

  for (uint32_t t = 0; t < c.batch; ++t)
    for (uint32_t r = 0; r < c.rows; ++r) {
      double expect = 0, terms = 0;
      for (uint32_t k = 0; k < c.cols; ++k) {
        const double xv = xr[size_t(t) * c.cols + k];
        expect += double(ref.w_hat[size_t(r) * c.cols + k]) * xv;
        terms += ref.terms[size_t(r) * c.cols + k] * std::abs(xv);
      }
      const float got = y[size_t(t) * c.rows + r];
      ASSERT_TRUE(std::isfinite(got)) << "unwritten or NaN output at token " << t << " row " << r;
      ASSERT_NEAR(got, expect, 1e-5 * terms + 1e-6) << "token " << t << " row " << r;
    }
  for (size_t i = y_count; i < y.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &y[i], 4);
    ASSERT_EQ(bits, test::kPoison) << "kernel wrote past its output at " << i;
  }

  // Accumulate mode adds to what is there.
  std::vector<float> y0 = test::random_normal(y_count, seed + 2);
  yb.upload(y0.data(), y_count * 4);
  vk::CommandBuffer cmd2(ctx());
  mm.record(cmd2, {c.batch, 0, stride, 0, 0, true});
  cmd2.submit_and_wait();
  std::vector<float> y2(y_count);
  yb.download(y2.data(), y_count * 4);
  for (size_t i = 0; i < y_count; ++i) ASSERT_NEAR(y2[i], y0[i] + y[i], 1e-5f * (std::abs(y0[i]) + std::abs(y[i])) + 1e-6f);
}

INSTANTIATE_TEST_SUITE_P(LowBitFormats, LowBitKernel, ::testing::ValuesIn(all_cases()), case_name);

}  // namespace
