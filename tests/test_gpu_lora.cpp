// LoRA layers on the device (model/gpu_linear.h): y = W_hat x' + scale B (A x') (with x' and y
// under optional Hadamard rotations) against a double-precision CPU reference from the packed
// weight and the fp16 factors, on fresh random inputs with the output buffer poisoned first, for a
// decode (mat-vec) and a batched (mat-mul) call, a group of two LoRA layers writing adjacent rows of
// one output (as wq/wk do), awkward shapes and ranks.
// Tolerance: max |y - ref| <= 1e-4 * max |ref| for fp32 weights (fp32 sums of at most 100 terms in
// another order), the same for Q4 (the reference uses the same dequantized weight).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "common/fp16.h"
#include "gpu_test.h"
#include "model/gpu_linear.h"
#include "model/packed_model.h"
#include "quant/group_quant.h"
#include "quant/hadamard.h"

using namespace bitlens;
using namespace bitlens::model;

namespace {

quant::PackedLinear random_lora_linear(uint32_t rows, uint32_t cols, uint32_t rank, quant::Format format, bool rotate,
                                uint64_t seed) {
  quant::PackedLinear l;
  const std::vector<float> w = test::random_normal(size_t(rows) * cols, seed, 0.2f);
  l.weight = format == quant::Format::F32 ? quant::pack_float(w, rows, cols, format)
                                          : quant::pack(quant::quantize_rtn(w, rows, cols, 4, 32));
  l.lora_rank = rank;
  l.lora_scale = 0.5f;
  for (float v : test::random_normal(size_t(rank) * cols, seed + 1, 0.3f)) l.lora_a.push_back(float_to_half(v));
  for (float v : test::random_normal(size_t(rows) * rank, seed + 2, 0.3f)) l.lora_b.push_back(float_to_half(v));
  if (rotate && quant::hadamard_supported(cols)) {
    l.rotation.input = true;
    l.rotation.input_signs = quant::random_sign_bits(cols, seed + 3);
  }
  if (rotate && quant::hadamard_supported(rows)) {
    l.rotation.output = true;
    l.rotation.output_signs = quant::random_sign_bits(rows, seed + 4);
  }
  return l;
}

// The reference of one token: rotate_inverse(W_hat x' + scale B (A x')), x' = rotate(x).
std::vector<double> reference(const quant::PackedLinear& l, std::span<const float> x) {
  const uint32_t rows = l.weight.layout.rows, cols = l.weight.layout.cols, k = l.lora_rank;
  const std::vector<float> w = quant::dequantize(l.weight);
  std::vector<float> xf(x.begin(), x.end());
  if (l.rotation.input) quant::rotate(xf, l.rotation.input_signs);
  const std::vector<double> xr(xf.begin(), xf.end());
  std::vector<double> u(k, 0.0), y(rows, 0.0);
  for (uint32_t j = 0; j < k; ++j)
    for (uint32_t c = 0; c < cols; ++c) u[j] += double(half_to_float(l.lora_a[size_t(j) * cols + c])) * xr[c];
  for (uint32_t r = 0; r < rows; ++r) {
    for (uint32_t c = 0; c < cols; ++c) y[r] += double(w[size_t(r) * cols + c]) * xr[c];
    for (uint32_t j = 0; j < k; ++j) y[r] += double(l.lora_scale) * half_to_float(l.lora_b[size_t(r) * k + j]) * u[j];
  }
  if (!l.rotation.output) return y;
  std::vector<float> yf(y.begin(), y.end());
  quant::rotate_inverse(yf, l.rotation.output_signs);
  return {yf.begin(), yf.end()};
}

struct Case {
  uint32_t rows_a, rows_b, cols, rank;
  quant::Format format;
  bool rotate;
};

class GpuLora : public test::GpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(GpuLora, MatchesTheCpuReference) {
  const Case c = GetParam();
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const quant::PackedLinear a = random_lora_linear(c.rows_a, c.cols, c.rank, c.format, c.rotate, seed);
  const quant::PackedLinear b = random_lora_linear(c.rows_b, c.cols, c.rank + 1, c.format, c.rotate, seed + 10);
  const uint32_t in_stride = kernels::activation_stride(c.cols), out_stride = kernels::activation_stride(c.rows_a + c.rows_b);
  const uint32_t max_n = 7;
  vk::Buffer in(ctx(), std::max<uint64_t>(uint64_t(max_n) * in_stride * 4, gpu().caps().max_uniform_range));
  vk::Buffer out(ctx(), uint64_t(max_n) * out_stride * 4);
  RotationScratch scratch(gpu(), in.size());
  const GpuLinearGroup group(gpu(), in, c.cols, in_stride,
                             {{"a", &a, &out, 0, out_stride, false}, {"b", &b, &out, c.rows_a, out_stride, false}},
                             scratch);
  for (uint32_t n : {1u, max_n}) {
    const std::vector<float> x = test::random_normal(size_t(n) * in_stride, seed + n);
    in.upload(std::span<const float>(x));
    out.fill(test::kPoison);
    kernels::Recording rec(gpu(), false, 64);
    group.record(rec, n);
    rec.submit_and_wait();
    std::vector<float> y(size_t(n) * out_stride);
    out.download(std::span<float>(y));
    for (uint32_t t = 0; t < n; ++t) {
      const auto xt = std::span(x).subspan(size_t(t) * in_stride, c.cols);
      std::vector<double> ref = reference(a, xt);
      const std::vector<double> ref_b = reference(b, xt);
      ref.insert(ref.end(), ref_b.begin(), ref_b.end());
      double err = 0, mag = 0;
      for (size_t i = 0; i < ref.size(); ++i) {
        const float got = y[size_t(t) * out_stride + i];
        ASSERT_TRUE(std::isfinite(got)) << "n " << n << " token " << t << " row " << i;
        err = std::max(err, std::abs(got - ref[i]));
        mag = std::max(mag, std::abs(ref[i]));
      }
      EXPECT_LE(err, 1e-4 * mag) << "n " << n << " token " << t;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, GpuLora,
                         ::testing::Values(Case{48, 16, 36, 3, quant::Format::F32, false},
                                           Case{100, 20, 36, 1, quant::Format::Q4, false},
                                           Case{64, 32, 64, 4, quant::Format::F32, true},
                                           Case{32, 32, 64, 6, quant::Format::Q4, true}),
                         [](const auto& info) {
                           const Case& c = info.param;
                           return std::to_string(c.rows_a) + "x" + std::to_string(c.cols) + "_r" +
                                  std::to_string(c.rank) + "_" + quant::format_info(c.format).name +
                                  (c.rotate ? "_rotated" : "");
                         });

}  // namespace
