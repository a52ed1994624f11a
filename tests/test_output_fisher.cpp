// The output Fisher and the allocation objective it weights: squared output gradients against the
// weight gradients of the (finite-difference checked) full-model backward, their normalization
// over sequences, the Fisher-weighted layer error against its definition on the calibration rows,
// and the allocation moving bits to the layer the Fisher says is sensitive.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "calib_data.h"
#include "common/error.h"
#include "gpu_test.h"
#include "model/cpu_ops.h"
#include "pipeline/model_quant.h"
#include "quant/calibration.h"
#include "pipeline/layer_allocation.h"
#include "synthetic_model.h"
#include "train/lm_gradient.h"
#include "train/output_fisher.h"

using namespace bitlens;
using model::Linear;

using test::random_tokens;

// With two tokens only position 0 is scored, so every weight gradient is rank one, dW = dy_0 x_0^T,
// and the output Fisher is dy_0^2: row i of dW has squared norm f_i ||x_0||^2, the same ||x_0||^2 for
// every row. For the first block's wv, x_0 is the normalized embedding of the first token.
TEST(OutputFisher, TwoTokenSequenceMatchesTheWeightGradients) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const model::Model m = test::synthetic_model(test::small_config(), seed);
  const std::vector<uint32_t> seq = random_tokens(2, m.config.vocab_size, seed + 1);
  train::LmGradient lm(m);
  train::LinearGradients g;
  lm.loss(seq, {1, 2}, &g);
  const train::OutputFisher f = train::output_fisher(m, {seq});
  EXPECT_EQ(f.predicted_tokens, 1u);
  ASSERT_EQ(f.f.size(), m.config.n_layers);

  std::vector<float> x0(m.config.dim);
  model::rmsnorm(x0, {m.weights.token_embedding.row(seq[0]), m.config.dim}, m.weights.layers[0].rms_att.span(),
                 m.config.norm_eps);
  double x0_sq = 0.0;
  for (float v : x0) x0_sq += double(v) * v;

  for (size_t l = 0; l < m.config.n_layers; ++l)
    for (uint32_t k = 0; k < model::kLinearsPerLayer; ++k) {
      const std::string what = "layer " + std::to_string(l) + " " + model::linear_name(Linear(k));
      const std::span<const float> fi = f.at(l, Linear(k));
      const std::vector<float>& dw = g[l][k];
      ASSERT_FALSE(fi.empty()) << what;
      ASSERT_EQ(dw.size() % fi.size(), 0u) << what;
      const size_t rows = fi.size(), cols = dw.size() / rows;
      std::vector<double> row_sq(rows, 0.0);
      size_t top = 0;
      for (size_t i = 0; i < rows; ++i) {
        for (size_t j = 0; j < cols; ++j) row_sq[i] += double(dw[i * cols + j]) * dw[i * cols + j];
        if (fi[i] > fi[top]) top = i;
      }
      if (Linear(k) == Linear::Wq || Linear(k) == Linear::Wk) {
        // A lone position attends to itself with weight 1 whatever q and k: no gradient at all.
        EXPECT_EQ(fi[top], 0.0f) << what;
        for (double v : row_sq) EXPECT_EQ(v, 0.0) << what;
        continue;
      }
      ASSERT_GT(fi[top], 0.0f) << what;
      // ||x_0||^2 from the row with the largest gradient; fp32 gradients, so 1e-4 relative.
      const double c = row_sq[top] / fi[top];
      if (l == 0 && Linear(k) == Linear::Wv) {
        EXPECT_NEAR(c, x0_sq, 1e-4 * x0_sq) << what;
      }
      for (size_t i = 0; i < rows; ++i)
        EXPECT_NEAR(row_sq[i], double(fi[i]) * c, 1e-4 * row_sq[top]) << what << " row " << i;
    }
}

// The Fisher is a mean over predicted tokens: two sequences give the token-weighted mean of each
// one's Fisher.
TEST(OutputFisher, IsTheMeanOverPredictedTokens) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const model::Model m = test::synthetic_model(test::small_config(), seed);
  const std::vector<uint32_t> a = random_tokens(9, m.config.vocab_size, seed + 1),
                              b = random_tokens(17, m.config.vocab_size, seed + 2);
  const train::OutputFisher fa = train::output_fisher(m, {a}), fb = train::output_fisher(m, {b}),
                            fab = train::output_fisher(m, {a, b});
  EXPECT_EQ(fab.predicted_tokens, 8u + 16u);
  for (size_t l = 0; l < m.config.n_layers; ++l)
    for (uint32_t k = 0; k < model::kLinearsPerLayer; ++k)
      for (size_t i = 0; i < fab.at(l, Linear(k)).size(); ++i) {
        const double want = (8.0 * fa.at(l, Linear(k))[i] + 16.0 * fb.at(l, Linear(k))[i]) / 24.0;
        EXPECT_NEAR(fab.at(l, Linear(k))[i], want, 1e-5 * std::abs(want) + 1e-30);
      }
  EXPECT_THROW(train::output_fisher(m, {{1u}}), Error);  // one token predicts nothing
}

// layer_error with a Fisher: 1/2 sum_i f_i mean_t ((W - W_hat) x_t)_i^2 over the calibration rows.
TEST(FisherWeightedError, IsHalfTheFisherWeightedOutputMeanSquare) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t rows = 24, cols = 64;
  const size_t tokens = 300;
  const std::vector<float> x = test::correlated_inputs(tokens, cols, seed);
  const quant::Calibration cal = pipeline::calibration_from(test::stats_of(x, cols));
  const std::vector<float> w = test::random_normal(size_t(rows) * cols, seed + 1, 0.05f),
                           e = test::random_normal(size_t(rows) * cols, seed + 2, 0.01f);
  std::vector<float> w_hat(w.size()), fisher = test::random_normal(rows, seed + 3);
  for (size_t i = 0; i < w.size(); ++i) w_hat[i] = w[i] + e[i];
  for (float& f : fisher) f = f * f;
  double want = 0.0;
  for (uint32_t i = 0; i < rows; ++i) {
    double ms = 0.0;
    for (size_t t = 0; t < tokens; ++t) {
      double d = 0.0;
      for (uint32_t j = 0; j < cols; ++j) d += (double(w[i * cols + j]) - w_hat[i * cols + j]) * x[t * cols + j];
      ms += d * d;
    }
    want += 0.5 * fisher[i] * ms / double(tokens);
  }
  EXPECT_NEAR(pipeline::layer_error(w, w_hat, rows, cols, &cal, fisher), want, 1e-6 * want);
  const quant::Calibration no_hessian{cols, {}, cal.mean_square, {}, 0};
  EXPECT_THROW(pipeline::layer_error(w, w_hat, rows, cols, &no_hessian, fisher), Error);
  EXPECT_THROW(pipeline::layer_error(w, w_hat, rows, cols, &cal, std::span<const float>(fisher).first(rows - 1)), Error);
}

// Two identical layers, one 100x more sensitive by its Fisher: its errors are 100x larger, and with
// room for one layer at 4 bits the allocation gives it to that one.
TEST(FisherWeightedError, MovesBitsToTheSensitiveLayer) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t rows = 32, cols = 128;
  const quant::Calibration cal = pipeline::calibration_from(test::stats_of(test::correlated_inputs(512, cols, seed), cols));
  const std::vector<float> w = test::random_normal(size_t(rows) * cols, seed + 1, 0.05f);
  const std::vector<float> low(rows, 1.0f), high(rows, 100.0f);
  const std::vector<pipeline::LinearSpec> specs = {{pipeline::Method::Gptq, 2, 64}, {pipeline::Method::Gptq, 4, 64}};
  const std::vector<pipeline::LayerMeasurement> meas = {
      pipeline::measure_layer("layers.0.wq", w, rows, cols, &cal, specs, low),
      pipeline::measure_layer("layers.1.wq", w, rows, cols, &cal, specs, high)};
  EXPECT_NEAR(meas[1].errors[0], 100.0 * meas[0].errors[0], 1e-9 * meas[1].errors[0]);
  // Room for one layer at 4 bits: it must be the sensitive one.
  const double bpw = double(meas[0].bits[0] + meas[0].bits[1]) / double(2 * meas[0].weights);
  const pipeline::Recipe r = pipeline::allocate_recipe(meas, bpw);
  EXPECT_EQ(r.layers[0].spec.bits, 2u);
  EXPECT_EQ(r.layers[1].spec.bits, 4u);
}
