// Mat-vec and mat-mul kernels against the CPU reference, on fresh random inputs with poisoned
// outputs, for every format, group size, shape class (rows not a multiple of the 8-row tile,
// columns not a multiple of the 32-column chunk or of the group), batch and work strategy; and the
// mat-vec work splits (MatMulTuning: mask or lookup-table decoding, shuffled or per-lane loads of
// x, workgroup size, tiles per invocation, subgroups per tile) on a few shapes.
//
// Also the mat-vec with its input transformed as it loads it (RMSNorm or SwiGLU product, then
// optionally the layer's randomized Hadamard input rotation) and the refusals of transforms a
// kernel cannot apply.
//
// Tolerance: |y - y_ref| <= 1e-5 * T + 1e-6 per element, where y_ref is accumulated in double from
// the dequantized weights and T = sum_c (|scale * q * x| + |offset * x|) is the magnitude of the
// terms the kernel adds in fp32 (sum_c |w * x| for float formats).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

#include "common/error.h"
#include "common/fp16.h"
#include "gpu_test.h"
#include "kernels/matmul.h"
#include "quant/hadamard.h"
#include "quant/packing.h"

using namespace bitlens;
using namespace bitlens::quant;
using bitlens::kernels::Strategy;

namespace {

struct Case {
  Format format;
  uint32_t group;
  uint32_t rows, cols, batch;
  Strategy strategy;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  std::string s = format_info(c.format).name;
  if (c.group) s += "g" + std::to_string(c.group);
  s += "_" + std::to_string(c.rows) + "x" + std::to_string(c.cols) + "_b" + std::to_string(c.batch);
  s += c.strategy == Strategy::TilePerInvocation ? "_tile_per_invocation" : "_tile_per_subgroup";
  return s;
}

std::vector<Case> all_cases() {
  const std::pair<uint32_t, uint32_t> shapes[] = {{1, 1},     {7, 33},    {8, 32},    {13, 100},  {33, 129},
                                                  {288, 288}, {768, 288}, {288, 768}, {40, 4096}};
  std::vector<Case> cases;
  for (auto strategy : {Strategy::TilePerInvocation, Strategy::TilePerSubgroup})
    for (const auto& f : all_formats()) {
      if (f.kind == FormatKind::LowBit) continue;  // test_lowbit_kernels.cpp
      std::vector<uint32_t> groups = f.grouped ? supported_group_sizes() : std::vector<uint32_t>{0};
      for (uint32_t g : groups)
        for (auto [rows, cols] : shapes)
          for (uint32_t batch : {1u, 3u, 17u}) cases.push_back({f.format, g, rows, cols, batch, strategy});
    }
  return cases;
}

// Runs case c on the device with the given mat-vec tuning and checks it against the reference.
void check_case(kernels::Gpu& gpu, vk::Context& ctx, const Case& c, const kernels::MatMulTuning& tuning);

class MatMulFixture : public test::GpuTest {
 protected:
  void run(const Case& c, const kernels::MatMulTuning& tuning) {
    if (c.strategy == Strategy::TilePerSubgroup && !gpu().caps().subgroup_arithmetic) GTEST_SKIP();
    gpu().set_strategy(c.strategy);
    check_case(gpu(), ctx(), c, tuning);
  }
};

class MatMulKernel : public MatMulFixture, public ::testing::WithParamInterface<Case> {};

TEST_P(MatMulKernel, MatchesCpuReference) { run(GetParam(), {}); }

INSTANTIATE_TEST_SUITE_P(AllFormats, MatMulKernel, ::testing::ValuesIn(all_cases()), case_name);

struct TuningCase {
  Case c;
  kernels::MatMulTuning tuning;
  std::string name;
};

std::vector<TuningCase> tuning_cases() {
  const std::pair<const char*, kernels::MatMulTuning> tunings[] = {
      {"masks", {0, 0, 0, false}},          {"local8_tpi1", {8, 1, 0, true}},   {"local32_tpi4", {32, 4, 0, true}},
      {"local16_tpi3", {16, 3, 0, true}},    {"split1", {0, 0, 1, true}},        {"split8", {0, 0, 8, true}},
      {"tokens8_tiles1", {0, 0, 0, true, 8, 1}}, {"tokens2_tiles4", {0, 0, 0, true, 2, 4}},
      {"tokens3_tiles3", {0, 0, 0, true, 3, 3}}, {"masks_unshuffled_x", {0, 0, 0, false, 0, 0, false}}};
  const std::pair<uint32_t, uint32_t> shapes[] = {{33, 129}, {288, 768}, {40, 4096}, {1000, 96}};
  std::vector<TuningCase> cases;
  for (Format f : {Format::Q2, Format::Q3, Format::Q4, Format::F16})
    for (const auto& [tname, tuning] : tunings)
      for (auto [rows, cols] : shapes) {
        const Strategy strategy = tuning.subgroups_per_tile ? Strategy::TilePerSubgroup : Strategy::TilePerInvocation;
        const uint32_t batch = tuning.batch_tokens ? 13 : 1;
        const Case c{f, format_info(f).grouped ? 64u : 0u, rows, cols, batch, strategy};
        cases.push_back({c, tuning, std::string(tname) + "_" + case_name({c, 0})});
      }
  return cases;
}

class MatMulTunings : public MatMulFixture, public ::testing::WithParamInterface<TuningCase> {};

TEST_P(MatMulTunings, MatchesCpuReference) { run(GetParam().c, GetParam().tuning); }

INSTANTIATE_TEST_SUITE_P(Splits, MatMulTunings, ::testing::ValuesIn(tuning_cases()),
                         [](const auto& info) { return info.param.name; });

void check_case(kernels::Gpu& gpu, vk::Context& ctx, const Case& c, const kernels::MatMulTuning& tuning) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));

  // Weights, packed, and the reference view of them.
  const auto w = test::random_normal(size_t(c.rows) * c.cols, seed, 0.05f);
  PackedMatrix packed;
  std::vector<float> w_hat, term_w;  // term_w: |scale*q| + |offset| per weight (|w| for floats)
  if (format_info(c.format).grouped) {
    const QuantizedMatrix q = quantize_rtn(w, c.rows, c.cols, format_info(c.format).bits, c.group);
    packed = pack(q);
    w_hat = dequantize(q);
    term_w.resize(w_hat.size());
    for (uint32_t r = 0; r < c.rows; ++r)
      for (uint32_t k = 0; k < c.cols; ++k) {
        const QParams p = q.params(r, k / c.group);
        term_w[size_t(r) * c.cols + k] = std::abs(p.scale * q.codes[size_t(r) * c.cols + k]) + std::abs(p.offset);
      }
  } else {
    packed = pack_float(w, c.rows, c.cols, c.format);
    w_hat = dequantize(packed);
    term_w.resize(w_hat.size());
    for (size_t i = 0; i < w_hat.size(); ++i) term_w[i] = std::abs(w_hat[i]);
  }
  kernels::GpuMatrix gw(gpu, packed);

  // Activations: batch rows with a padded stride; the padding holds NaN, which must not be read.
  const uint32_t stride = kernels::activation_stride(c.cols);
  std::vector<float> x(std::max<size_t>(size_t(c.batch) * stride, 16384), std::nanf(""));
  const auto xr = test::random_normal(size_t(c.batch) * c.cols, seed + 1);
  for (uint32_t t = 0; t < c.batch; ++t) std::memcpy(&x[size_t(t) * stride], &xr[size_t(t) * c.cols], c.cols * 4);
  vk::Buffer xb(ctx, x.size() * 4);
  xb.upload(x.data(), x.size() * 4);

  // Output poisoned, with a poisoned margin after it that must stay untouched.
  const size_t y_count = size_t(c.batch) * c.rows, margin = 64;
  vk::Buffer yb(ctx, (y_count + margin) * 4);
  yb.fill(test::kPoison);

  kernels::MatMul mm(gpu, gw, xb, yb, tuning);
  vk::CommandBuffer cmd(ctx);
  mm.record(cmd, {c.batch, 0, stride});
  cmd.submit_and_wait();
  std::vector<float> y(y_count + margin);
  yb.download(y.data(), y.size() * 4);

  for (uint32_t t = 0; t < c.batch; ++t)
    for (uint32_t r = 0; r < c.rows; ++r) {
      double ref = 0, terms = 0;
      for (uint32_t k = 0; k < c.cols; ++k) {
        const double xv = xr[size_t(t) * c.cols + k];
        ref += double(w_hat[size_t(r) * c.cols + k]) * xv;
        terms += term_w[size_t(r) * c.cols + k] * std::abs(xv);
      }
      const float got = y[size_t(t) * c.rows + r];
      ASSERT_TRUE(std::isfinite(got)) << "unwritten or NaN output at token " << t << " row " << r;
      ASSERT_NEAR(got, ref, 1e-5 * terms + 1e-6) << "token " << t << " row " << r;
    }
  for (size_t i = y_count; i < y.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &y[i], 4);
    ASSERT_EQ(bits, test::kPoison) << "kernel wrote past its output at " << i;
  }

  // Accumulate mode adds to what is there.
  std::vector<float> y0 = test::random_normal(y_count, seed + 2);
  yb.upload(y0.data(), y_count * 4);
  vk::CommandBuffer cmd2(ctx);
  mm.record(cmd2, {c.batch, 0, stride, 0, 0, true});
  cmd2.submit_and_wait();
  std::vector<float> y2(y_count);
  yb.download(y2.data(), y_count * 4);
  for (size_t i = 0; i < y_count; ++i) ASSERT_NEAR(y2[i], y0[i] + y[i], 1e-5f * (std::abs(y0[i]) + std::abs(y[i])) + 1e-6f);
}

class MatMulArgs : public test::GpuTest {};

TEST_F(MatMulArgs, RefusesBadActivationLayouts) {
  const auto w = test::random_normal(64 * 64, 1, 0.05f);
  kernels::GpuMatrix gw(gpu(), pack(quantize_rtn(w, 64, 64, 4, 64)));
  vk::Buffer small(ctx(), 64 * 4), xb(ctx(), 64 * 1024 * 4), yb(ctx(), 64 * 4);
  kernels::MatMul too_small(gpu(), gw, small, yb);
  vk::CommandBuffer cmd(ctx());
  EXPECT_THROW(too_small.record(cmd, {2}), Error);  // two tokens do not fit in x or y
  kernels::MatMul mm(gpu(), gw, xb, yb);
  EXPECT_THROW(mm.record(cmd, {1, 2}), Error);          // offset not a multiple of 4
  EXPECT_THROW(mm.record(cmd, {2, 0, 66}), Error);      // stride not a multiple of 4
  EXPECT_THROW(mm.record(cmd, {2, 0, 32}), Error);      // stride smaller than a row
}

// Mat-vec with the input transformed as it is loaded (InputTransform: the RMSNorm or the SwiGLU
// product before a layer; with `rotate`, then the forward rotation of random signs), against the
// transform and the product done in double on the host (the rotation by quant::rotate, the CPU
// reference of the rotation kernels, in fp32 like the kernel). Same tolerance as above, with T
// summed over the transformed (and rotated) x.
struct TransformCase {
  Format format;
  uint32_t rows, cols;
  kernels::InputTransform::Kind kind;
  bool rotate = false;
};

class MatVecInputTransform : public test::GpuTest, public ::testing::WithParamInterface<TransformCase> {};

TEST_P(MatVecInputTransform, MatchesHostReference) {
  const TransformCase& c = GetParam();
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const auto w = test::random_normal(size_t(c.rows) * c.cols, seed, 0.05f);
  const bool grouped = format_info(c.format).grouped;
  const PackedMatrix packed =
      grouped ? pack(quantize_rtn(w, c.rows, c.cols, format_info(c.format).bits, 64)) : pack_float(w, c.rows, c.cols, c.format);
  const std::vector<float> w_hat = dequantize(packed);
  kernels::GpuMatrix gw(gpu(), packed);

  // x: the row at float 8 (then, for SwiGLU, the up row at x_offset + up), NaN everywhere else.
  using Kind = kernels::InputTransform::Kind;
  const uint32_t x_offset = 8, up = kernels::activation_stride(c.cols) + 4;
  std::vector<float> x(16384, std::nanf(""));
  const auto gate = test::random_normal(c.cols, seed + 1, 2.0f), upv = test::random_normal(c.cols, seed + 2);
  std::copy(gate.begin(), gate.end(), x.begin() + x_offset);
  if (c.kind == Kind::SwiGlu) std::copy(upv.begin(), upv.end(), x.begin() + x_offset + up);
  vk::Buffer xb(ctx(), x.size() * 4);
  xb.upload(x.data(), x.size() * 4);
  // Norm weights at float 12 of their buffer.
  const uint32_t norm_offset = 12;
  const auto g = test::random_normal(c.cols, seed + 3);
  std::vector<float> norms(norm_offset + c.cols + 4, 0.0f);
  std::copy(g.begin(), g.end(), norms.begin() + norm_offset);
  vk::Buffer nb(ctx(), norms.size() * 4);
  nb.upload(norms.data(), norms.size() * 4);

  std::vector<double> xt(c.cols);
  if (c.kind == Kind::RmsNorm) {
    double ss = 0;
    for (float v : gate) ss += double(v) * v;
    const double inv = 1.0 / std::sqrt(ss / c.cols + 1e-5);
    for (uint32_t k = 0; k < c.cols; ++k) xt[k] = gate[k] * inv * g[k];
  } else if (c.kind == Kind::SwiGlu) {
    for (uint32_t k = 0; k < c.cols; ++k) xt[k] = gate[k] / (1.0 + std::exp(-double(gate[k]))) * upv[k];
  } else {
    for (uint32_t k = 0; k < c.cols; ++k) xt[k] = gate[k];
  }
  std::unique_ptr<kernels::Rotation> rotation;
  if (c.rotate) {
    const std::vector<uint32_t> signs = random_sign_bits(c.cols, seed + 4);
    rotation = std::make_unique<kernels::Rotation>(gpu(), c.cols, signs);
    std::vector<float> xr(xt.begin(), xt.end());
    rotate(xr, signs);
    xt.assign(xr.begin(), xr.end());
  }

  vk::Buffer yb(ctx(), (c.rows + 64) * 4);
  yb.fill(test::kPoison);
  kernels::MatMul mm(gpu(), gw, xb, yb, {}, &nb, rotation.get());
  if (!mm.transforms_input()) GTEST_SKIP() << "this device's mat-vec does not transform its input";
  if (c.rotate && !mm.rotates_input()) GTEST_SKIP() << "this device's mat-vec does not rotate its input";
  kernels::MatMulArgs args{1, x_offset};
  args.input = {c.kind, c.kind == Kind::RmsNorm ? norm_offset : up, 1e-5f};
  vk::CommandBuffer cmd(ctx());
  mm.record(cmd, args);
  cmd.submit_and_wait();
  std::vector<float> y(c.rows + 64);
  yb.download(y.data(), y.size() * 4);
  for (uint32_t r = 0; r < c.rows; ++r) {
    double ref = 0, terms = 0;
    for (uint32_t k = 0; k < c.cols; ++k) {
      ref += double(w_hat[size_t(r) * c.cols + k]) * xt[k];
      terms += std::abs(double(w_hat[size_t(r) * c.cols + k]) * xt[k]);
    }
    ASSERT_TRUE(std::isfinite(y[r])) << "unwritten or NaN output at row " << r;
    ASSERT_NEAR(y[r], ref, 1e-5 * terms + 1e-6) << "row " << r;
  }
  for (size_t i = c.rows; i < y.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &y[i], 4);
    ASSERT_EQ(bits, test::kPoison) << "kernel wrote past its output at " << i;
  }
}

std::vector<TransformCase> transform_cases() {
  using Kind = kernels::InputTransform::Kind;
  const std::pair<uint32_t, uint32_t> shapes[] = {{33, 129}, {288, 288}, {40, 4096}};
  // Rotation widths m * 2^k: m = 36, 12, 1, 12 with 2^k = 8, 64, 64, 8 (chunks and groups not
  // whole for some), each with one of the transforms.
  const std::pair<uint32_t, uint32_t> rotated[] = {{33, 288}, {40, 768}, {24, 64}, {17, 96}};
  std::vector<TransformCase> cases;
  for (Format f : {Format::Q2, Format::Q3, Format::Q4, Format::Q8, Format::F16, Format::F32}) {
    for (auto [rows, cols] : shapes)
      for (auto kind : {Kind::RmsNorm, Kind::SwiGlu}) cases.push_back({f, rows, cols, kind});
    for (size_t i = 0; i < std::size(rotated); ++i)
      cases.push_back({f, rotated[i].first, rotated[i].second, std::array{Kind::RmsNorm, Kind::None, Kind::SwiGlu}[i % 3], true});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Formats, MatVecInputTransform, ::testing::ValuesIn(transform_cases()),
                         [](const ::testing::TestParamInfo<TransformCase>& info) {
                           const TransformCase& c = info.param;
                           using Kind = kernels::InputTransform::Kind;
                           return std::string(format_info(c.format).name) + "_" + std::to_string(c.rows) + "x" +
                                  std::to_string(c.cols) +
                                  (c.kind == Kind::RmsNorm ? "_rmsnorm" : c.kind == Kind::SwiGlu ? "_swiglu" : "") +
                                  (c.rotate ? "_rotated" : "");
                         });

TEST_F(MatMulArgs, RefusesInputTransformsItCannotApply) {
  const auto w = test::random_normal(64 * 64, 1, 0.05f);
  kernels::GpuMatrix gw(gpu(), pack(quantize_rtn(w, 64, 64, 4, 64)));
  vk::Buffer xb(ctx(), 64 * 1024 * 4), yb(ctx(), 64 * 64 * 4), norms(ctx(), 64 * 4);
  vk::CommandBuffer cmd(ctx());
  using Kind = kernels::InputTransform::Kind;
  kernels::MatMul without_norms(gpu(), gw, xb, yb);
  kernels::MatMulArgs norm{1};
  norm.input = {Kind::RmsNorm, 0, 1e-5f};
  EXPECT_THROW(without_norms.record(cmd, norm), Error);  // no norm weights bound
  kernels::MatMul mm(gpu(), gw, xb, yb, {}, &norms);
  kernels::MatMulArgs batch2 = norm;
  batch2.batch = 2;
  EXPECT_THROW(mm.record(cmd, batch2), Error);  // batches do not transform
  kernels::MatMulArgs past = norm;
  past.input.offset = 4;
  EXPECT_THROW(mm.record(cmd, past), Error);  // weights past the end of their buffer
  kernels::MatMulArgs glu{1};
  glu.input = {Kind::SwiGlu, 64 * 1024, 0.0f};
  EXPECT_THROW(mm.record(cmd, glu), Error);  // up row past the end of x
  gpu().set_strategy(kernels::Strategy::TilePerSubgroup);
  if (gpu().caps().subgroup_arithmetic) {
    kernels::MatMul gpu_kernel(gpu(), gw, xb, yb, {}, &norms);
    EXPECT_FALSE(gpu_kernel.transforms_input());
    EXPECT_THROW(gpu_kernel.record(cmd, norm), Error);
  }
}

}  // namespace
