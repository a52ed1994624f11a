// Streaming calibration statistics against direct computation on fresh synthetic inputs, added in
// uneven batches; the reservoir sample; refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "calib/capture.h"
#include "calib/input_stats.h"
#include "calib/model_stats.h"
#include "calib_data.h"
#include "common/error.h"
#include "gpu_test.h"
#include "model/cpu_ops.h"
#include "pipeline/model_quant.h"
#include "synthetic_model.h"

using namespace bitlens;

TEST(InputStats, MatchesDirectComputation) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t cols = 97;
  const size_t tokens = 1000;
  const std::vector<float> x = test::correlated_inputs(tokens, cols, seed);
  calib::InputStats s(cols, 64);
  // Batches of 1, 10, 100, 889 rows.
  size_t done = 0;
  for (size_t n : {size_t(1), size_t(10), size_t(100), tokens - 111}) {
    s.add(std::span<const float>(&x[done * cols], n * cols), n);
    done += n;
  }
  ASSERT_EQ(s.tokens(), tokens);
  const auto ms = s.mean_square();
  const auto ma = s.mean_abs();
  const auto mx = s.max_abs();
  const auto h = s.hessian();
  for (uint32_t i = 0; i < cols; ++i) {
    double sq = 0, ab = 0, m = 0;
    for (size_t t = 0; t < tokens; ++t) {
      sq += double(x[t * cols + i]) * x[t * cols + i];
      ab += std::abs(x[t * cols + i]);
      m = std::max(m, double(std::abs(x[t * cols + i])));
    }
    // Tolerance: float storage of the means (relative 1e-6).
    EXPECT_NEAR(ms[i], sq / tokens, 1e-6 * sq / tokens);
    EXPECT_NEAR(ma[i], ab / tokens, 1e-6 * ab / tokens);
    EXPECT_EQ(mx[i], float(m));
    EXPECT_NEAR(h[size_t(i) * cols + i], 2.0 * sq / tokens, 1e-9 * sq);
    for (uint32_t j = 0; j < cols; ++j) {
      double g = 0;
      for (size_t t = 0; t < tokens; ++t) g += double(x[t * cols + i]) * x[t * cols + j];
      // Both sums are in double over the same products: agreement to rounding of the order.
      ASSERT_NEAR(h[size_t(i) * cols + j], 2.0 * g / tokens, 1e-10 * (std::abs(g) + 1.0)) << i << "," << j;
      ASSERT_EQ(h[size_t(i) * cols + j], h[size_t(j) * cols + i]);
    }
  }
}

TEST(InputStats, ReservoirHoldsDistinctInputRows) {
  const uint64_t seed = test::fresh_seed();
  const uint32_t cols = 8;
  const size_t tokens = 500;
  std::vector<float> x(tokens * cols);
  for (size_t t = 0; t < tokens; ++t)
    for (uint32_t c = 0; c < cols; ++c) x[t * cols + c] = float(t) + 0.01f * c;
  calib::InputStats s(cols, 32, false, seed);
  s.add(std::span<const float>(x.data(), 100 * cols), 100);
  s.add(std::span<const float>(x.data() + 100 * cols, 400 * cols), 400);
  ASSERT_EQ(s.sample_count(), 32u);
  std::set<float> rows;
  for (size_t k = 0; k < 32; ++k) {
    const float first = s.sample()[k * cols];
    ASSERT_EQ(first, std::floor(first));
    for (uint32_t c = 0; c < cols; ++c) ASSERT_EQ(s.sample()[k * cols + c], first + 0.01f * c);
    rows.insert(first);
  }
  EXPECT_EQ(rows.size(), 32u);
  // A uniform sample of 500 rows rarely keeps only the first 100 (probability ~ (1/5)^32).
  EXPECT_GT(*rows.rbegin(), 99.0f);
  EXPECT_FALSE(s.has_hessian());
  EXPECT_THROW(s.hessian(), Error);
}

TEST(InputStats, RefusesBadInput) {
  calib::InputStats s(4);
  EXPECT_THROW(s.hessian(), Error);  // no tokens yet
  std::vector<float> x(7, 1.0f);
  EXPECT_THROW(s.add(x, 2), Error);
  x.resize(8);
  x[3] = std::nanf("");
  EXPECT_THROW(s.add(x, 2), Error);
  EXPECT_THROW(calib::InputStats(0), Error);
  EXPECT_THROW(calib::InputStats(100000), Error);  // a 10^10-entry Hessian
}

TEST(ModelStats, OneStatisticPerInputSite) {
  model::ModelConfig c;
  c.dim = 48;
  c.hidden_dim = 80;
  c.n_layers = 3;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  calib::ModelStats stats(c, 16);
  ASSERT_EQ(stats.layers(), 3u);
  EXPECT_EQ(stats.for_linear(2, model::Linear::Wk).features(), 48u);
  EXPECT_EQ(stats.for_linear(2, model::Linear::W2).features(), 80u);
  EXPECT_EQ(&stats.for_linear(1, model::Linear::Wq), &stats.for_linear(1, model::Linear::Wv));
  EXPECT_EQ(&stats.for_linear(1, model::Linear::W1), &stats.for_linear(1, model::Linear::W3));
  EXPECT_NE(&stats.for_linear(1, model::Linear::Wo), &stats.for_linear(1, model::Linear::Wq));
  EXPECT_THROW(stats.at(3, calib::InputSite::FfnIn), Error);
  const auto x = test::correlated_inputs(64, 80, 1);
  stats.at(1, calib::InputSite::FfnHidden).add(x, 64);
  const pipeline::CalibrationLookup lookup = pipeline::calibration_lookup(stats);
  const quant::Calibration* cal = lookup("layers.1.w2");
  ASSERT_NE(cal, nullptr);
  EXPECT_EQ(cal->cols, 80u);
  EXPECT_EQ(cal->hessian, stats.at(1, calib::InputSite::FfnHidden).hessian());
  EXPECT_EQ(cal->sample_rows, 16u);
  EXPECT_EQ(lookup("layers.7.w2"), nullptr);
}

TEST(Capture, AccumulatesEveryBlockInputOfTheForwardPass) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const model::Model m = test::synthetic_model(test::small_config(), seed);
  const model::ModelConfig& c = m.config;
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> text(100);
  for (auto& t : text) t = uint32_t(3 + rng() % (c.vocab_size - 3));
  const auto seqs = calib::calibration_sequences(text, 1, c.seq_len, 70);
  size_t total = 0;
  for (const auto& s : seqs) {
    ASSERT_EQ(s[0], 1u);
    ASSERT_LE(s.size(), c.seq_len);
    total += s.size();
  }
  ASSERT_EQ(total, 70u);
  model::CpuForward f(m);
  calib::ModelStats stats(c, 8);
  calib::capture(f, seqs, stats);
  for (uint32_t l = 0; l < c.n_layers; ++l)
    for (uint32_t site = 0; site < calib::kInputSites; ++site)
      EXPECT_EQ(stats.at(l, calib::InputSite(site)).tokens(), total);
  EXPECT_EQ(stats.at(0, calib::InputSite::FfnHidden).features(), c.hidden_dim);
  // Layer 0's attention input is rmsnorm(embedding row) of every calibration token.
  std::vector<double> ms(c.dim, 0.0);
  std::vector<float> xb(c.dim);
  for (const auto& s : seqs)
    for (uint32_t t : s) {
      model::rmsnorm(xb, {m.weights.token_embedding.row(t), c.dim}, m.weights.layers[0].rms_att.span(), c.norm_eps);
      for (uint32_t j = 0; j < c.dim; ++j) ms[j] += double(xb[j]) * xb[j] / double(total);
    }
  const auto got = stats.at(0, calib::InputSite::AttentionIn).mean_square();
  for (uint32_t j = 0; j < c.dim; ++j) EXPECT_NEAR(got[j], ms[j], 1e-5 * ms[j] + 1e-9);
  // The forward pass runs as before afterwards, without the observer.
  EXPECT_NO_THROW(f.prefill(seqs[0], 0, false));
}
