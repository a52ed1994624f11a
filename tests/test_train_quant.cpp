// The learnable-clipping quantizer and the LoRA linear of ApiQ: values identical to what the
// runtime stores, the straight-through gradient against finite differences of its surrogate
// (rounding residuals frozen), its sign on a tiny example, and the LoRA and regularizer gradients.
#include <gtest/gtest.h>

#include <cmath>

#include "common/fp16.h"
#include "grad_check.h"
#include "model/float_model.h"
#include "gpu_test.h"
#include "quant/packing.h"
#include "train/clip_quantizer.h"
#include "train/lora_linear.h"

using namespace bitlens;
using namespace bitlens::train;

namespace {

std::vector<float> random_logits(size_t n, uint64_t seed) {
  // Clip factors spread over (0.55, 0.999): some groups barely clipped, some clipped hard.
  std::vector<float> v = test::random_normal(n, seed, 1.5f);
  for (float& x : v) x = std::clamp(x + 2.0f, -2.0f, 6.0f);
  return v;
}

}  // namespace

TEST(ClipQuantizer, UnclippedEqualsRoundToNearest) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const size_t rows = 24, cols = 160;  // 160 = 2 groups of 64 and a short one of 32
  const auto w = test::random_normal(rows * cols, seed, 0.05f);
  for (uint32_t bits : {2u, 3u, 4u}) {
    ClipQuantizer cq(w.data(), rows, cols, bits, 64);
    const std::vector<float> hi(cq.parameters(), 30.0f), lo = hi;  // clip factor rounds to 1.0f
    const quant::QuantizedMatrix ours = cq.quantized(hi.data(), lo.data());
    const quant::QuantizedMatrix rtn = quant::quantize_rtn(w, rows, cols, bits, 64);
    EXPECT_EQ(ours.codes, rtn.codes);
    EXPECT_EQ(ours.scale, rtn.scale);
    EXPECT_EQ(ours.offset, rtn.offset);
  }
}

TEST(ClipQuantizer, FakeQuantizedWeightsEqualTheStoredCodes) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const size_t rows = 17, cols = 288;
  const auto w = test::random_normal(rows * cols, seed, 0.05f);
  ClipQuantizer cq(w.data(), rows, cols, 2, 64);
  const auto hi = random_logits(cq.parameters(), seed + 1), lo = random_logits(cq.parameters(), seed + 2);
  std::vector<float> w_hat(rows * cols);
  cq.quantize(hi.data(), lo.data(), w_hat.data());
  EXPECT_EQ(w_hat, quant::dequantize(cq.quantized(hi.data(), lo.data())));
  EXPECT_EQ(w_hat, quant::dequantize(quant::pack(cq.quantized(hi.data(), lo.data()))));
}

TEST(ClipQuantizer, StraightThroughGradientMatchesTheSurrogateFunction) {
  // The STE gradient is the exact gradient of the function in which each rounding is replaced by
  // its argument plus the rounding residual at the current point (and fp16 rounding by identity),
  // with the set of clamped codes fixed. Build that surrogate in double and difference it.
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const size_t rows = 6, cols = 96, gs = 32;
  const auto w = test::random_normal(rows * cols, seed, 0.05f);
  const auto r = test::random_normal(rows * cols, seed + 1);
  for (uint32_t bits : {2u, 3u}) {
    ClipQuantizer cq(w.data(), rows, cols, bits, uint32_t(gs));
    const auto hi = random_logits(cq.parameters(), seed + 2 + bits), lo = random_logits(cq.parameters(), seed + 9 + bits);
    std::vector<float> w_hat(rows * cols), dhi(hi.size()), dlo(lo.size());
    cq.quantize(hi.data(), lo.data(), w_hat.data());
    cq.backward(r.data(), dhi.data(), dlo.data());
    const quant::QuantizedMatrix base = cq.quantized(hi.data(), lo.data());
    const double qmax = double((1u << bits) - 1);
    for (size_t row = 0; row < rows; ++row)
      for (size_t g = 0; g < cols / gs; ++g) {
        const size_t i = row * cq.groups() + g;
        const quant::QParams p0 = base.params(uint32_t(row), uint32_t(g));
        double gmax = 0, gmin = 0;
        for (size_t c = g * gs; c < (g + 1) * gs; ++c) {
          gmax = std::max(gmax, double(w[row * cols + c]));
          gmin = std::min(gmin, double(w[row * cols + c]));
        }
        const auto exact_scale = [&](double h, double l) { return (clip_factor(float(h)) * gmax - clip_factor(float(l)) * gmin) / qmax; };
        const double s_exact0 = exact_scale(hi[i], lo[i]), mn0 = clip_factor(lo[i]) * gmin;
        const double z0 = std::nearbyint(double(p0.offset) / p0.scale);
        const auto surrogate = [&](double h, double l) {
          const double s = p0.scale + (exact_scale(h, l) - s_exact0);
          const double mn = clip_factor(float(l)) * gmin;
          const double z = z0 + (-mn / s) - (-mn0 / p0.scale);
          const double o = p0.offset + (s * z - double(p0.scale) * z0);
          double loss = 0.0;
          for (size_t c = g * gs; c < (g + 1) * gs; ++c) {
            const double wv = w[row * cols + c], u0 = (wv + p0.offset) / p0.scale, q0 = std::nearbyint(u0);
            const double q = (q0 < 0 || q0 > qmax) ? std::clamp(q0, 0.0, qmax) : (wv + o) / s + (q0 - u0);
            loss += r[row * cols + c] * (s * q - o);
          }
          return loss;
        };
        const double e = 1e-3;
        const double num_hi = (surrogate(hi[i] + e, lo[i]) - surrogate(hi[i] - e, lo[i])) / (2 * e);
        const double num_lo = (surrogate(hi[i], lo[i] + e) - surrogate(hi[i], lo[i] - e)) / (2 * e);
        // fp32 logits (clip_factor takes a float) and fp32 accumulation: 1% plus a small floor.
        EXPECT_NEAR(dhi[i], num_hi, 1e-2 * std::abs(num_hi) + 1e-4) << "bits " << bits << " row " << row << " group " << g;
        EXPECT_NEAR(dlo[i], num_lo, 1e-2 * std::abs(num_lo) + 1e-4) << "bits " << bits << " row " << row << " group " << g;
      }
  }
}

TEST(ClipQuantizer, StraightThroughGradientHasTheRightSignOnATinyExample) {
  // Weights +1 and -2, 2 bits, range clipped to [0.6 * -2, 0.8 * 1]: every code is clamped to the
  // end of the range, w_hat falls short of w at both ends, and the squared error falls when either
  // clip factor grows, so both gradients must be negative.
  std::vector<float> w(8);
  for (size_t i = 0; i < w.size(); ++i) w[i] = i % 2 ? -2.0f : 1.0f;
  ClipQuantizer cq(w.data(), 1, w.size(), 2, 32);
  const std::vector<float> hi{clip_logit(0.8f)}, lo{clip_logit(0.6f)};
  std::vector<float> w_hat(w.size()), d(w.size()), dhi(1), dlo(1);
  cq.quantize(hi.data(), lo.data(), w_hat.data());
  const quant::QuantizedMatrix q = cq.quantized(hi.data(), lo.data());
  for (size_t i = 0; i < w.size(); ++i) {
    EXPECT_EQ(q.codes[i], i % 2 ? 0 : 3);
    EXPECT_LT(std::abs(w_hat[i]), std::abs(w[i]));
    d[i] = 2.0f * (w_hat[i] - w[i]);  // d/dw_hat of sum (w_hat - w)^2
  }
  cq.backward(d.data(), dhi.data(), dlo.data());
  EXPECT_LT(dhi[0], 0.0f);
  EXPECT_LT(dlo[0], 0.0f);
}

TEST(LoraLinear, EffectiveWeightAndLoraGradientsMatchFiniteDifferences) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const size_t out = 40, in = 96;
  const auto w = test::random_normal(out * in, seed, 0.05f);
  const auto r = test::random_normal(out * in, seed + 1);
  const auto sal = [&] {
    auto s = test::random_normal(out * in, seed + 2);
    for (float& v : s) v = v * v;
    return s;
  }();
  for (RegularizerPlace place : {RegularizerPlace::AfterLora, RegularizerPlace::BeforeLora}) {
    LoraLinear lin(w.data(), out, in, {2, 32, 3, 1.5f, 0.9f}, seed);
    lin.lora_b() = test::random_normal(out * 3, seed + 3, 0.02f);
    const float* eff = lin.build();
    std::vector<float> q(out * in);
    {  // W_eff = Q(W) + (alpha / r) B A
      ClipQuantizer cq(w.data(), out, in, 2, 32);
      const std::vector<float> logits(cq.parameters(), clip_logit(0.9f));
      cq.quantize(logits.data(), logits.data(), q.data());
      for (size_t o = 0; o < out; ++o)
        for (size_t i = 0; i < in; ++i) {
          double ba = 0.0;
          for (size_t k = 0; k < 3; ++k) ba += double(lin.lora_b()[o * 3 + k]) * lin.lora_a()[k * in + i];
          ASSERT_NEAR(eff[o * in + i], q[o * in + i] + 0.5 * ba, 1e-6);
        }
    }
    // loss = sum r . W_eff + weight * R: linear in A and B apart from R's quadratic term.
    const float weight = 0.3f;
    lin.backward(r.data(), sal.data(), weight, place);
    const auto loss = [&] {
      const float* e = lin.build();
      double l = 0.0;
      for (size_t i = 0; i < out * in; ++i) l += double(r[i]) * e[i];
      return l + weight * lin.regularizer(sal.data(), place);
    };
    const std::string where = place == RegularizerPlace::AfterLora ? "after LoRA" : "before LoRA";
    std::vector<float> ga = lin.grad_lora_a(), gb = lin.grad_lora_b();
    test::check_gradient(lin.lora_a(), ga, loss, 1e-2f, 1e-3, seed, "dA " + where);
    test::check_gradient(lin.lora_b(), gb, loss, 1e-2f, 1e-3, seed + 1, "dB " + where);
  }
}

TEST(LoraLinear, PackedLayerHoldsWhatTheRuntimeComputes) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const size_t out = 24, in = 160;
  const auto w = test::random_normal(out * in, seed, 0.05f);
  LoraLinear lin(w.data(), out, in, {3, 64, 4, 1.0f, 0.95f}, seed);
  lin.lora_b() = test::random_normal(out * 4, seed + 1, 0.02f);
  lin.clip_hi() = random_logits(lin.clip_hi().size(), seed + 2);
  lin.build();
  const quant::PackedLinear p = lin.pack();
  ASSERT_EQ(p.lora_rank, 4u);
  ASSERT_EQ(p.lora_a.size(), 4 * in);
  ASSERT_EQ(p.lora_b.size(), out * 4);
  EXPECT_FLOAT_EQ(p.lora_scale, 0.25f);
  EXPECT_EQ(p.stored_bytes(), (p.weight.layout.code_words() + p.weight.layout.param_words()) * 4 + (4 * in + out * 4) * 2 + 4);
  // The runtime's weight (codes + scale * B16 A16) is W_eff up to the fp16 rounding of A and B.
  const float* eff = lin.effective();
  const auto rw = quant::effective_weight(p);
  for (size_t o = 0; o < out; ++o)
    for (size_t i = 0; i < in; ++i) {
      double magnitude = 0.0;  // scale * sum_k |b_ok a_ki|: what fp16 rounding of A and B can shift
      for (size_t k = 0; k < 4; ++k) magnitude += 0.25 * std::abs(double(lin.lora_b()[o * 4 + k]) * lin.lora_a()[k * in + i]);
      EXPECT_NEAR(rw[o * in + i], eff[o * in + i], 2.5e-3 * magnitude + 1e-6) << o << "," << i;
    }
}
