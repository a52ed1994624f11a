// Quantizers on fresh synthetic data: clipping search, GPTQ (against RTN on correlated inputs, equal
// to RTN for a diagonal Hessian), ternary (against exhaustive search), trit-planes, PTQ1.61 and
// SliM-LLM (allocation by KL, salience-weighted calibration).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "calib_data.h"
#include "common/error.h"
#include "common/fp16.h"
#include "gpu_test.h"
#include "quant/clip_search.h"
#include "quant/gptq.h"
#include "quant/metrics.h"
#include "quant/ptq161_quant.h"
#include "quant/saliency.h"
#include "quant/slim_quant.h"
#include "quant/ternary_quant.h"

using namespace bitlens;
using namespace bitlens::quant;

TEST(ClipSearch, NeverWorseThanRoundToNearestPerGroup) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t rows = 16, cols = 288, g = 64;
  const auto w = test::random_normal(size_t(rows) * cols, seed, 0.05f);
  std::vector<float> weights = test::random_normal(cols, seed + 1);
  for (auto& v : weights) v = v * v + 0.01f;  // positive per-column weights
  for (uint32_t bits : {2u, 3u, 4u}) {
    const QuantizedMatrix rtn = quantize_rtn(w, rows, cols, bits, g);
    const QuantizedMatrix clip = quantize_clip_search(w, rows, cols, bits, g, ErrorWeights(weights, rows, cols));
    const auto wr = dequantize(rtn), wc = dequantize(clip);
    double total_r = 0, total_c = 0;
    for (uint32_t r = 0; r < rows; ++r)
      for (uint32_t gi = 0; gi < rtn.groups(); ++gi) {
        double er = 0, ec = 0;
        for (uint32_t c = gi * g; c < std::min(cols, (gi + 1) * g); ++c) {
          const size_t i = size_t(r) * cols + c;
          er += weights[c] * (w[i] - wr[i]) * (w[i] - wr[i]);
          ec += weights[c] * (w[i] - wc[i]) * (w[i] - wc[i]);
        }
        EXPECT_LE(ec, er * (1 + 1e-9) + 1e-15) << bits << " bits, row " << r << " group " << gi;
        total_r += er;
        total_c += ec;
      }
    // On Gaussian weights clipping pays at 2 and 3 bits.
    if (bits <= 3) {
      EXPECT_LT(total_c, 0.95 * total_r) << bits << " bits";
    }
  }
}

namespace {

struct GptqCase {
  uint32_t rows, cols, bits, group;
};

// A positive diagonal Hessian: GPTQ's walk then has no error to feed forward.
std::vector<double> diagonal_hessian(uint32_t cols, uint64_t seed) {
  std::vector<double> h(size_t(cols) * cols, 0.0);
  const auto d = test::random_normal(cols, seed);
  for (uint32_t j = 0; j < cols; ++j) h[size_t(j) * cols + j] = 0.1 + d[j] * d[j];
  return h;
}

}  // namespace

TEST(Gptq, BeatsRoundToNearestOnCorrelatedInputs) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  // 288 columns: the last block has 32 columns and, at group 64, the last group too; 100 columns
  // end in a group of 4.
  for (GptqCase c : {GptqCase{48, 288, 2, 64}, GptqCase{48, 288, 3, 128}, GptqCase{40, 288, 4, 32}, GptqCase{24, 100, 3, 32}}) {
    const auto x = test::correlated_inputs(2048, c.cols, seed + c.cols);
    const auto h = test::stats_of(x, c.cols).hessian();
    const auto w = test::random_normal(size_t(c.rows) * c.cols, seed + c.bits, 0.05f);
    const auto w_rtn = dequantize(quantize_rtn(w, c.rows, c.cols, c.bits, c.group));
    const auto w_gptq = dequantize(quantize_gptq(w, c.rows, c.cols, h, {c.bits, c.group}));
    const double e_rtn = relative_output_error(w, w_rtn, c.rows, c.cols, x, 2048);
    const double e_gptq = relative_output_error(w, w_gptq, c.rows, c.cols, x, 2048);
    EXPECT_LT(e_gptq, 0.9 * e_rtn) << c.bits << " bits g" << c.group << " " << c.rows << "x" << c.cols;
  }
}

TEST(Gptq, EqualsRoundToNearestForDiagonalHessian) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t rows = 24, cols = 288;
  const std::vector<double> h = diagonal_hessian(cols, seed);
  const auto w = test::random_normal(size_t(rows) * cols, seed + 1, 0.05f);
  for (uint32_t bits : {2u, 4u}) {
    const QuantizedMatrix a = quantize_rtn(w, rows, cols, bits, 64);
    const QuantizedMatrix b = quantize_gptq(w, rows, cols, h, {bits, 64});
    EXPECT_EQ(a.codes, b.codes);
    EXPECT_EQ(a.scale, b.scale);
    EXPECT_EQ(a.offset, b.offset);
  }
}

// GPTQ with clipped group ranges: with a diagonal Hessian there is no error feedback, so it is
// the plain clipping search group by group; with correlated inputs at 2 bits (where clipping pays
// on Gaussian weights) it beats min-max GPTQ on the output error.
TEST(GptqClip, EqualsClipSearchForDiagonalHessianAndBeatsGptqAtTwoBits) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t rows = 48, cols = 288;
  const std::vector<double> h = diagonal_hessian(cols, seed);
  const auto w = test::random_normal(size_t(rows) * cols, seed + 1, 0.05f);
  GptqOptions o;
  o.clip_search = true;
  for (uint32_t bits : {2u, 3u}) {
    o.bits = bits;
    const QuantizedMatrix a = quantize_clip_search(w, rows, cols, bits, 64);
    const QuantizedMatrix b = quantize_gptq(w, rows, cols, h, o);
    EXPECT_EQ(a.codes, b.codes) << bits << " bits";
    EXPECT_EQ(a.scale, b.scale) << bits << " bits";
    EXPECT_EQ(a.offset, b.offset) << bits << " bits";
  }
  const auto x = test::correlated_inputs(2048, cols, seed + 2);
  const auto hc = test::stats_of(x, cols).hessian();
  o.bits = 2;
  const auto w_gptq = dequantize(quantize_gptq(w, rows, cols, hc, {2, 64}));
  const auto w_clip = dequantize(quantize_gptq(w, rows, cols, hc, o));
  EXPECT_LT(relative_output_error(w, w_clip, rows, cols, x, 2048), relative_output_error(w, w_gptq, rows, cols, x, 2048));
}

TEST(Gptq, DeadChannelsAndBadInput) {
  const uint32_t rows = 8, cols = 64;
  auto x = test::correlated_inputs(512, cols, 3);
  for (size_t t = 0; t < 512; ++t) x[t * cols + 5] = 0.0f;  // channel 5 never active
  const auto h = test::stats_of(x, cols).hessian();
  const auto w = test::random_normal(size_t(rows) * cols, 4, 0.05f);
  const QuantizedMatrix q = quantize_gptq(w, rows, cols, h, {4, 32});
  for (uint32_t r = 0; r < rows; ++r) EXPECT_NEAR(q.dequantized(r, 5), 0.0f, 0.5f * q.params(r, 0).scale + 1e-6f);
  EXPECT_THROW(quantize_gptq(w, rows, cols, std::vector<double>(10), {4, 32}), Error);
  EXPECT_THROW(quantize_gptq(w, rows, cols, h, {4, 64, 0.01, 96}), Error);  // block not a multiple of the group
  EXPECT_THROW(quantize_gptq(w, rows, cols, h, {5, 32}), UnsupportedError);
}

namespace {

// Exhaustive optimum of sum h (v - a t)^2 over t in {-1,0,1}^n with a at its least-squares value.
double brute_force_ternary(const std::vector<float>& v, const std::vector<float>& h) {
  const size_t n = v.size();
  size_t total = 1;
  for (size_t i = 0; i < n; ++i) total *= 3;
  double best = INFINITY;
  std::vector<int> t(n);
  for (size_t code = 0; code < total; ++code) {
    size_t c = code;
    double num = 0, den = 0;
    for (size_t i = 0; i < n; ++i) {
      t[i] = int(c % 3) - 1;
      c /= 3;
      num += h[i] * v[i] * t[i];
      den += h[i] * t[i] * t[i];
    }
    const double a = den > 0 ? num / den : 0.0;
    double e = 0;
    for (size_t i = 0; i < n; ++i) e += h[i] * (v[i] - a * t[i]) * (v[i] - a * t[i]);
    best = std::min(best, e);
  }
  return best;
}

}  // namespace

TEST(Ternary, MatchesExhaustiveSearch) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (int trial = 0; trial < 40; ++trial) {
    const auto v = test::random_normal(8, seed + trial, 1.0f);
    auto h = test::random_normal(8, seed + 1000 + trial, 1.0f);
    for (auto& x : h) x = trial % 2 ? x * x + 0.05f : 1.0f;
    int8_t t[8];
    const float a = ternary_group(v, trial % 2 ? std::span<const float>(h) : std::span<const float>(), t);
    double e = 0;
    for (size_t i = 0; i < 8; ++i) e += h[i] * (v[i] - a * t[i]) * (v[i] - a * t[i]);
    // Only the fp16 rounding of a separates the two optima.
    EXPECT_LE(e, brute_force_ternary(v, h) * (1 + 2e-3) + 1e-9) << "trial " << trial;
  }
}

TEST(TritPlane, ImprovesOnTernaryAndNeverOnItsStart) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t rows = 32, cols = 288, g = 64;
  const auto w = test::random_normal(size_t(rows) * cols, seed, 0.05f);
  const double e_t = weighted_error(w, dequantize(quantize_ternary(w, rows, cols, g)), rows, cols);
  const double e_tp = weighted_error(w, dequantize(quantize_tritplane(w, rows, cols, g)), rows, cols);
  const double e_tp0 = weighted_error(w, dequantize(quantize_tritplane(w, rows, cols, g, {}, 0)), rows, cols);
  EXPECT_LT(e_tp, 0.35 * e_t);           // two planes: about nine levels instead of three
  EXPECT_LE(e_tp, e_tp0 * (1 + 1e-3));   // the alternating fit never loses to its start
  const TernaryMatrix t = quantize_ternary(w, rows, cols, g);
  for (int8_t v : t.trits) ASSERT_TRUE(v >= -1 && v <= 1);
}

TEST(Ptq161, KeepsTheLoudestChannelsAndRefinementHelps) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t rows = 32, cols = 288;
  const auto x = test::correlated_inputs(2048, cols, seed, 11, 8.0f);
  const auto stats = test::stats_of(x, cols);
  const auto h = stats.hessian();
  const auto ms = stats.mean_square();
  const auto w = test::random_normal(size_t(rows) * cols, seed + 1, 0.05f);

  const std::vector<uint32_t> sal = select_salient_columns(ms, 58);
  ASSERT_EQ(sal.size(), 58u);
  ASSERT_TRUE(std::is_sorted(sal.begin(), sal.end()));
  float weakest_kept = INFINITY, loudest_dropped = 0.0f;
  for (uint32_t c = 0; c < cols; ++c) {
    if (std::binary_search(sal.begin(), sal.end(), c)) weakest_kept = std::min(weakest_kept, ms[c]);
    else loudest_dropped = std::max(loudest_dropped, ms[c]);
  }
  EXPECT_GE(weakest_kept, loudest_dropped);

  Ptq161Options plain, refined, none;
  plain.refine = false;
  none.refine = false;
  none.salient_fraction = 0.0;
  const Ptq161Matrix m_plain = quantize_ptq161(w, rows, cols, ms, &h, plain);
  const Ptq161Matrix m_ref = quantize_ptq161(w, rows, cols, ms, &h, refined);
  const Ptq161Matrix m_none = quantize_ptq161(w, rows, cols, ms, &h, none);
  EXPECT_EQ(m_plain.salient, sal);
  const double e_plain = output_error(w, dequantize(m_plain), rows, cols, h);
  const double e_ref = output_error(w, dequantize(m_ref), rows, cols, h);
  const double e_none = output_error(w, dequantize(m_none), rows, cols, h);
  EXPECT_LT(e_plain, 0.8 * e_none);  // the loud channels at 4 bits
  EXPECT_LE(e_ref, e_plain * (1 + 1e-6));
  // Salient weights are 4-bit round-to-nearest of their row.
  const auto wh = dequantize(m_plain);
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t c : sal)
      EXPECT_LE(std::abs(wh[size_t(r) * cols + c] - w[size_t(r) * cols + c]),
                0.5f * half_to_float(m_plain.sscale[r]) * 1.01f + 1e-6f);
}

TEST(Slim, GroupBitsKeepTheMeanAndFollowSaliency) {
  const std::vector<double> sal = {5.0, 1.0, 3.0, 9.0, 2.0, 7.0};
  EXPECT_EQ(slim_group_bits(sal, 2, 0), (std::vector<uint8_t>{2, 2, 2, 2, 2, 2}));
  EXPECT_EQ(slim_group_bits(sal, 2, 1), (std::vector<uint8_t>{2, 1, 2, 3, 2, 2}));
  EXPECT_EQ(slim_group_bits(sal, 3, 2), (std::vector<uint8_t>{3, 2, 3, 4, 2, 4}));
  EXPECT_THROW(slim_group_bits(sal, 4, 1), UnsupportedError);
  EXPECT_THROW(slim_group_bits(sal, 2, 4), Error);
}

TEST(Slim, AllocationMinimizesKlAndBeatsRoundToNearest) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t rows = 48, cols = 272, g = 32;  // eight full groups and a short one of 16
  const auto x = test::correlated_inputs(1024, cols, seed, 29, 5.0f);
  const auto stats = test::stats_of(x, cols, 128);
  const auto h = stats.hessian();
  auto w = test::random_normal(size_t(rows) * cols, seed + 1, 0.05f);
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t c = 64; c < 96; ++c) w[size_t(r) * cols + c] *= 4.0f;  // one loud column group
  SlimOptions o;
  o.group_size = g;
  o.calibrate = false;
  const MixedMatrix m = quantize_slim(w, rows, cols, h, stats.sample(), stats.sample_count(), o);
  EXPECT_DOUBLE_EQ(m.mean_bits(), 2.0);
  EXPECT_EQ(m.group_bits.back(), 2);  // the short group is not moved
  auto gs = column_group_mean(obs_saliency(w, rows, cols, hessian_inverse_diagonal(h, cols)), rows, cols, g);
  gs.pop_back();
  double best = INFINITY;
  std::vector<uint8_t> best_bits;
  for (uint32_t moves = 0; moves <= 4; ++moves) {
    auto bits = slim_group_bits(gs, 2, moves);
    bits.push_back(2);
    const double kl = output_kl(w, dequantize(quantize_mixed_gptq(w, rows, cols, g, bits, h)), rows, cols,
                                stats.sample(), stats.sample_count());
    if (kl < best) {
      best = kl;
      best_bits = bits;
    }
  }
  EXPECT_EQ(m.group_bits, best_bits);
  EXPECT_EQ(slim_group_bits(gs, 2, 1)[2], 3);  // the loud group ranks as the most salient
  // GPTQ underneath: the output error beats round-to-nearest with the same widths.
  const auto rtn = dequantize(quantize_mixed_rtn(w, rows, cols, g, m.group_bits));
  EXPECT_LT(relative_output_error(w, dequantize(m), rows, cols, x, 1024),
            0.9 * relative_output_error(w, rtn, rows, cols, x, 1024));
  // With the calibration step: the same widths.
  o.calibrate = true;
  EXPECT_EQ(quantize_slim(w, rows, cols, h, stats.sample(), stats.sample_count(), o).group_bits, m.group_bits);
}

TEST(Slim, CalibrationNeverLosesOnItsLoss) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int trial = 0; trial < 200; ++trial) {
    const auto v = test::random_normal(32, seed + trial, 0.05f);
    std::vector<uint8_t> salient(32);
    for (auto& s : salient) s = rng() % 10 == 0;
    for (uint32_t bits : {1u, 2u, 3u, 4u}) {
      const QParams p = calibrate_group(v, salient, bits);
      EXPECT_LE(salience_split_error(v, salient, p, bits), salience_split_error(v, salient, group_params(v, bits), bits));
    }
  }
}

TEST(Slim, OneBitGroupsUseTwoLevels) {
  const uint32_t rows = 4, cols = 64;
  const auto w = test::random_normal(size_t(rows) * cols, test::fresh_seed(), 1.0f);
  const MixedMatrix m = quantize_mixed_rtn(w, rows, cols, 32, {1, 1});
  const auto wh = dequantize(m);
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t gi = 0; gi < 2; ++gi) {
      // The two levels straddle the group: one below its mean, one above; neither is zero-forced.
      const QParams p = m.params(r, gi);
      const float lo = -p.offset, hi = p.scale - p.offset;
      double mean = 0;
      for (uint32_t c = 32 * gi; c < 32 * gi + 32; ++c) mean += w[r * cols + c];
      mean /= 32;
      EXPECT_LT(lo, mean);
      EXPECT_GT(hi, mean);
      for (uint32_t c = 32 * gi; c < 32 * gi + 32; ++c) {
        const float v = wh[r * cols + c];
        EXPECT_TRUE(v == lo || v == hi);
      }
    }
}
