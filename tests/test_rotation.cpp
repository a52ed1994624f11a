// Weight rotation for incoherence processing: W' = U W V^T round trips, the effective weight of a
// quantized rotated layer approximates W, rotation flattens outliers (max |w|, kurtosis), the
// rotated Hessian equals the Hessian of rotated inputs, and output error is basis-independent.
#include <gtest/gtest.h>

#include <cmath>

#include "calib_data.h"
#include "common/error.h"
#include "gpu_test.h"
#include "pipeline/model_quant.h"
#include "quant/hadamard.h"
#include "quant/metrics.h"
#include "pipeline/quantize_linear.h"
#include "quant/rotation.h"

using namespace bitlens;
using namespace bitlens::quant;
using namespace bitlens::pipeline;

TEST(Rotation, RoundTripAndForwardIdentity) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t rows = 96, cols = 288;  // 96 = 12 * 8, 288 = 36 * 8
  const auto w = test::random_normal(size_t(rows) * cols, seed, 0.05f);
  for (RotationMode mode : {RotationMode::Input, RotationMode::Both}) {
    const Rotation r = make_rotation(rows, cols, mode, seed);
    const auto w_rot = rotate_weight(w, rows, cols, r);
    const auto back = unrotate_weight(w_rot, rows, cols, r);
    for (size_t i = 0; i < w.size(); ++i) ASSERT_NEAR(back[i], w[i], 1e-6f);  // fp32 transforms of O(0.05) values
    // The layer as the runtime runs it: y = rotate_inverse(W' rotate(x)).
    std::vector<float> x = test::random_normal(cols, seed + 1), xr = x;
    rotate(xr, r.input_signs);
    std::vector<float> y(rows, 0.0f), yr(rows, 0.0f);
    for (uint32_t o = 0; o < rows; ++o)
      for (uint32_t c = 0; c < cols; ++c) {
        y[o] += w[size_t(o) * cols + c] * x[c];
        yr[o] += w_rot[size_t(o) * cols + c] * xr[c];
      }
    if (r.output) rotate_inverse(yr, r.output_signs);
    for (uint32_t o = 0; o < rows; ++o) ASSERT_NEAR(yr[o], y[o], 1e-4f);
  }
  EXPECT_THROW(make_rotation(rows, 100, RotationMode::Input, 1), UnsupportedError);
  EXPECT_THROW(make_rotation(100, cols, RotationMode::Both, 1), UnsupportedError);
  EXPECT_NO_THROW(make_rotation(100, cols, RotationMode::Input, 1));
}

TEST(Rotation, FlattensOutliersAndHelpsLowBitQuantization) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t rows = 96, cols = 288;
  auto w = test::random_normal(size_t(rows) * cols, seed, 0.02f);
  for (uint32_t r = 0; r < rows; ++r)  // three outlier input channels, as LLM layers have
    for (uint32_t c : {5u, 102u, 199u}) w[size_t(r) * cols + c] *= 12.0f;
  const Rotation r = make_rotation(rows, cols, RotationMode::Both, seed + 1);
  const auto w_rot = rotate_weight(w, rows, cols, r);
  EXPECT_LT(max_abs(w_rot), 0.3f * max_abs(w));
  EXPECT_GT(kurtosis(w), 10.0);
  EXPECT_LT(kurtosis(w_rot), 4.0);  // close to a Gaussian's 3
  // 3-bit RTN: the effective weight of the rotated layer approximates W better than plain RTN.
  LinearSpec spec{Method::Rtn, 3, 64};
  const PackedLinear plain = quantize_linear(w, rows, cols, nullptr, spec, 0);
  spec.rotation = RotationMode::Both;
  const PackedLinear rot = quantize_linear(w, rows, cols, nullptr, spec, seed + 1);
  EXPECT_EQ(rot.rotation.input_signs, r.input_signs);
  const double e_plain = weighted_error(w, effective_weight(plain), rows, cols);
  const double e_rot = weighted_error(w, effective_weight(rot), rows, cols);
  EXPECT_LT(e_rot, 0.5 * e_plain);
  // The layer carries the signs and counts them.
  EXPECT_TRUE(rot.rotation.input && rot.rotation.output);
  EXPECT_EQ(rot.stored_bytes() * 8, plain.stored_bytes() * 8 + 32 * (cols / 32 + rows / 32));
}

TEST(Rotation, HessianOfRotatedInputsAndInvariantOutputError) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t rows = 24, cols = 96;
  const auto x = test::correlated_inputs(1024, cols, seed);
  const Calibration cal = calibration_from(test::stats_of(x, cols));
  const Rotation r = make_rotation(rows, cols, RotationMode::Input, seed + 2);
  const Calibration rc = rotate_calibration(cal, r);
  const auto hx = test::stats_of(rotate_inputs(x, 1024, cols, r), cols).hessian();
  double scale = 0;
  for (double v : hx) scale = std::max(scale, std::abs(v));
  // fp32 rotation of H: relative 1e-5 of its largest entry.
  for (size_t i = 0; i < hx.size(); ++i) ASSERT_NEAR(rc.hessian[i], hx[i], 1e-5 * scale) << i;
  for (uint32_t j = 0; j < cols; ++j) EXPECT_NEAR(rc.mean_square[j], 0.5 * hx[size_t(j) * cols + j], 1e-5 * scale);
  // GPTQ in the rotated basis: its output error measured in either basis agrees.
  const auto w = test::random_normal(size_t(rows) * cols, seed + 3, 0.05f);
  const PackedLinear q = quantize_linear(w, rows, cols, &cal, {Method::Gptq, 2, 32, RotationMode::Input}, seed + 2);
  const double e_orig = output_error(w, effective_weight(q), rows, cols, cal.hessian);
  const double e_rot = output_error(rotate_weight(w, rows, cols, q.rotation), dequantize(q.weight), rows, cols, rc.hessian);
  EXPECT_NEAR(e_orig, e_rot, 1e-3 * e_orig);
}
