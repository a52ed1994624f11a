// The inspector's per-layer pieces: choices and their honest size, layer names, rotation and
// quantization of one layer, error metrics, histograms, heat-map downsampling and bit allocation,
// each against a direct computation on fresh random data.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "common/error.h"
#include "gpu_test.h"
#include "inspect/allocation.h"
#include "inspect/heatmap.h"
#include "inspect/histogram.h"
#include "inspect/layer_choice.h"
#include "inspect/layer_quant.h"
#include "inspect/metrics.h"
#include "quant/packing.h"

using namespace bitlens;
using namespace bitlens::inspect;

namespace {

model::Matrix view(const std::vector<float>& v, uint32_t rows, uint32_t cols) { return {v.data(), rows, cols}; }

double rel_diff(std::span<const float> a, std::span<const float> b) {
  double d = 0, n = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    d += double(a[i] - b[i]) * (a[i] - b[i]);
    n += double(a[i]) * a[i];
  }
  return std::sqrt(d / n);
}

}  // namespace

TEST(InspectChoice, BitsPerWeightCountsCodesParametersAndSigns) {
  // 96 x 288: q2 g64 stores 2 bits per weight plus 32 bits per group of 64 (5 groups, the last 32 long).
  const LayerChoice q2{quant::Format::Q2, 64, false};
  const double groups = 5;
  EXPECT_NEAR(choice_bpw(q2, 96, 288), (2.0 * 288 + 32.0 * groups) / 288, 1e-9);
  LayerChoice rot = q2;
  rot.rotate = true;
  EXPECT_NEAR(choice_bpw(rot, 96, 288) - choice_bpw(q2, 96, 288), 32.0 * (3 + 9) / (96.0 * 288), 1e-9);
  EXPECT_NEAR(choice_bpw({quant::Format::F16, 0, false}, 96, 288), 16.0, 1e-9);
  EXPECT_EQ(rot.describe(), "q2 g64 rot");
  EXPECT_EQ(LayerChoice({quant::Format::F16, 64, false}).describe(), "f16");
}

TEST(InspectChoice, ProblemsAreNamed) {
  EXPECT_EQ(choice_problem({quant::Format::Q4, 64, true}, 768, 288), "");
  EXPECT_NE(choice_problem({quant::Format::Q4, 48, false}, 768, 288).find("group size 48"), std::string::npos);
  EXPECT_NE(choice_problem({quant::Format::Q4, 64, true}, 88, 288).find("88"), std::string::npos);
  EXPECT_EQ(choice_problem({quant::Format::F16, 48, false}, 80, 80), "");  // floats have no groups
  const auto c = allocation_candidates(768, 288);
  EXPECT_EQ(c.size(), 16u);  // q2 q3 q4 q8 x g64 g128 x rotation
  EXPECT_EQ(allocation_candidates(88, 288).size(), 8u);  // no rotation for 88 rows (11 * 8)
}

TEST(InspectChoice, LayerNamesRoundTripAndUnknownOnesAreRefused) {
  for (uint32_t b = 0; b < 6; ++b)
    for (uint32_t l = 0; l < model::kLinearsPerLayer; ++l) {
      const LayerRef r{b, model::Linear(l)};
      const LayerRef back = parse_layer(layer_name(r), 6);
      EXPECT_EQ(back.index(), r.index());
    }
  EXPECT_EQ(layer_name({3, model::Linear::W2}), "blk.3.w2");
  for (const char* bad : {"blk.6.wq", "blk.0.wx", "blk..wq", "blk.1", "layer.0.wq", "blk.-1.wq", "blk.0x1.wq", ""}) {
    try {
      parse_layer(bad, 6);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("unknown layer"), std::string::npos) << e.what();
    }
  }
}

TEST(InspectLayerQuant, RotationIsOrthogonal) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t rows = 96, cols = 288;
  const auto w = test::random_normal(size_t(rows) * cols, seed);
  const RotationSigns signs = rotation_signs(rows, cols, seed);
  const auto r = rotate_weights(view(w, rows, cols), signs);
  double n0 = 0, n1 = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    n0 += double(w[i]) * w[i];
    n1 += double(r[i]) * r[i];
  }
  EXPECT_NEAR(n1 / n0, 1.0, 1e-5);  // Frobenius norm kept (fp32 rounding only)
  EXPECT_GT(rel_diff(w, r), 0.5);   // and the weights really moved
}

TEST(InspectLayerQuant, PlainQuantizationIsRoundToNearest) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t rows = 64, cols = 192;
  const auto w = test::random_normal(size_t(rows) * cols, seed, 0.05f);
  const QuantizedLayer q = quantize_layer(view(w, rows, cols), {quant::Format::Q3, 64, false}, seed);
  const auto expected = quant::dequantize(quant::quantize_rtn(w, rows, cols, 3, 64));
  EXPECT_EQ(q.restored, expected);
  EXPECT_EQ(q.quantized, expected);
  EXPECT_EQ(quant::dequantize(q.packed.weight), expected);  // the packed weights run the same values
  EXPECT_FALSE(q.packed.has_input_rotation);
  EXPECT_NEAR(q.bpw, double(q.packed.stored_bytes()) * 8 / (rows * cols), 1e-9);
}

TEST(InspectLayerQuant, RotatedQuantizationRestoresToTheOriginalDomain) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t rows = 64, cols = 192;
  const auto w = test::random_normal(size_t(rows) * cols, seed, 0.05f);
  // f32 with rotation: W_hat is W up to float rounding of the two transforms.
  const QuantizedLayer f = quantize_layer(view(w, rows, cols), {quant::Format::F32, 0, true}, seed);
  EXPECT_LT(rel_diff(w, f.restored), 1e-5);
  EXPECT_GT(rel_diff(w, f.quantized), 0.5);  // the quantized domain is the rotated one
  // q4 with rotation: W_hat = U^T Q(U W V^T) V, whose error equals the error in the rotated domain.
  const QuantizedLayer q = quantize_layer(view(w, rows, cols), {quant::Format::Q4, 64, true}, seed);
  const auto signs = rotation_signs(rows, cols, seed);
  EXPECT_EQ(q.packed.input_signs, signs.input);
  EXPECT_EQ(q.packed.output_signs, signs.output);
  const auto rotated = rotate_weights(view(w, rows, cols), signs);
  EXPECT_NEAR(rel_diff(w, q.restored), rel_diff(rotated, q.quantized), 1e-4);
  EXPECT_NEAR(q.bpw, double(q.packed.stored_bytes()) * 8 / (rows * cols), 1e-9);
}

TEST(InspectMetrics, MatchADirectComputation) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t rows = 48, cols = 64, tokens = 20;
  const auto w = test::random_normal(size_t(rows) * cols, seed);
  auto w_hat = w;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, 0.1f);
  for (auto& v : w_hat) v += nd(rng);
  const auto x = test::random_normal(size_t(tokens) * cols, seed + 1);
  const auto energy = channel_energy(x, tokens, cols);
  // Direct sums in double: E[x^2], ||W - W_hat||, ||X (W - W_hat)^T||, saliency-weighted error.
  double dw = 0, nw = 0, sd = 0, sw = 0, ey = 0, ny = 0;
  for (uint32_t c = 0; c < cols; ++c) {
    double e = 0;
    for (uint32_t t = 0; t < tokens; ++t) e += double(x[t * cols + c]) * x[t * cols + c];
    EXPECT_NEAR(energy[c], e / tokens, 1e-4 * (1 + e / tokens));
  }
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t c = 0; c < cols; ++c) {
      const double a = w[r * cols + c], d = a - w_hat[r * cols + c], s = a * a * energy[c];
      dw += d * d;
      nw += a * a;
      sd += s * d * d;
      sw += s * a * a;
    }
  for (uint32_t t = 0; t < tokens; ++t)
    for (uint32_t r = 0; r < rows; ++r) {
      double y = 0, yd = 0;
      for (uint32_t c = 0; c < cols; ++c) {
        y += double(w[r * cols + c]) * x[t * cols + c];
        yd += (double(w[r * cols + c]) - w_hat[r * cols + c]) * x[t * cols + c];
      }
      ny += y * y;
      ey += yd * yd;
    }
  const double ref = output_energy(view(w, rows, cols), x, tokens);
  EXPECT_NEAR(ref, ny, 1e-4 * ny);
  const LayerMetrics m = measure_layer(view(w, rows, cols), w_hat, x, tokens, energy, ref);
  // Float accumulation over at most 64 terms: 1e-4 relative.
  EXPECT_NEAR(m.weight_error, std::sqrt(dw / nw), 1e-4 * m.weight_error);
  EXPECT_NEAR(m.output_error, std::sqrt(ey / ny), 1e-4 * m.output_error);
  EXPECT_NEAR(m.saliency_error, std::sqrt(sd / sw), 1e-4 * m.saliency_error);
  EXPECT_NEAR(m.output_sse, ey / tokens, 1e-4 * m.output_sse);
  const auto s = activation_saliency(view(w, rows, cols), energy);
  EXPECT_FLOAT_EQ(s[5 * cols + 7], w[5 * cols + 7] * w[5 * cols + 7] * energy[7]);
  EXPECT_THROW(measure_layer(view(w, rows, cols), std::span(w_hat).first(10), x, tokens, energy, ref), Error);
}

TEST(InspectHistogram, ScopesCountsAndLevels) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t rows = 8, cols = 80;
  const auto m = test::random_normal(size_t(rows) * cols, seed);
  EXPECT_EQ(scope_values(m, rows, cols, Scope::Tensor, 0, 0, 64).size(), m.size());
  const auto row = scope_values(m, rows, cols, Scope::Row, 3, 0, 64);
  ASSERT_EQ(row.size(), cols);
  EXPECT_EQ(row[7], m[3 * cols + 7]);
  const auto col = scope_values(m, rows, cols, Scope::Column, 0, 9, 64);
  ASSERT_EQ(col.size(), rows);
  EXPECT_EQ(col[5], m[5 * cols + 9]);
  const auto last_group = scope_values(m, rows, cols, Scope::Group, 2, 70, 64);  // the short group 64..79
  ASSERT_EQ(last_group.size(), 16u);
  EXPECT_EQ(last_group[0], m[2 * cols + 64]);
  EXPECT_THROW(scope_values(m, rows, cols, Scope::Row, rows, 0, 64), Error);

  const auto [lo, hi] = value_range({row, col});
  const Histogram h = histogram(m, lo, hi, 10);
  uint64_t total = 0;
  for (auto c : h.counts) total += c;
  EXPECT_EQ(total + h.outside, m.size());  // every value is in a bin or counted outside
  for (float v : m) {
    if (v < lo || v > hi) continue;
    --total;
  }
  EXPECT_EQ(total, 0u);
  // The robust range leaves out about `tail` of the values at each end.
  const auto [rlo, rhi] = robust_range({m}, 0.05f);
  const Histogram inner = histogram(m, rlo, rhi, 10);
  EXPECT_NEAR(double(inner.outside) / double(m.size()), 0.1, 0.01);
  const Histogram one = histogram(std::vector<float>{0.1f, 0.1f, 0.9f}, 0, 1, 2);
  EXPECT_EQ(one.counts, (std::vector<uint32_t>{2, 1}));
  EXPECT_EQ(one.max_count(), 2u);

  const auto q = quant::quantize_rtn(m, rows, cols, 2, 64);
  const auto levels = group_levels(q, 2, 1);
  ASSERT_EQ(levels.size(), 4u);
  const auto deq = quant::dequantize(q);
  for (uint32_t c = 64; c < cols; ++c)  // every quantized value of the group is one of its levels
    EXPECT_TRUE(std::find(levels.begin(), levels.end(), deq[2 * cols + c]) != levels.end());
}

TEST(InspectHeatmap, MaxPoolingMatchesBruteForce) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t rows = 67, cols = 131;
  const auto m = test::random_normal(size_t(rows) * cols, seed);
  const Heatmap h = downsample_max(m, rows, cols, 3, 60, 10, 131, 8, 16);
  EXPECT_LE(h.rows, 8u);
  EXPECT_LE(h.cols, 16u);
  for (uint32_t cr = 0; cr < h.rows; ++cr)
    for (uint32_t cc = 0; cc < h.cols; ++cc) {
      float mx = -INFINITY;
      for (uint32_t r = 3 + cr * h.row_step; r < std::min(60u, 3 + (cr + 1) * h.row_step); ++r)
        for (uint32_t c = 10 + cc * h.col_step; c < std::min(131u, 10 + (cc + 1) * h.col_step); ++c)
          mx = std::max(mx, m[r * cols + c]);
      EXPECT_EQ(h.cells[cr * h.cols + cc], mx) << cr << "," << cc;
    }
  EXPECT_THROW(downsample_max(m, rows, cols, 0, 68, 0, 10, 4, 4), Error);
  // The largest column total comes first.
  std::vector<float> s(4 * 5, 1.0f);
  s[2 * 5 + 3] = 50;
  s[1 * 5 + 1] = 20;
  EXPECT_EQ(top_columns(s, 4, 5, 2), (std::vector<uint32_t>{3, 1}));
  const auto [lo, hi] = log_range(s);
  EXPECT_FLOAT_EQ(hi, std::log10(50.0f));
  EXPECT_LE(lo, hi);
}

TEST(InspectAllocation, MatchesExhaustiveSearchOnTheConvexHull) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.5, 1.5);
  for (int trial = 0; trial < 20; ++trial) {
    // 5 layers x 4 options with convex error-vs-bits curves (each bit halves the error or so).
    std::vector<std::vector<AllocationOption>> opts(5);
    for (auto& layer : opts) {
      const double size = 100 * u(rng), scale = u(rng);
      for (int b = 2; b <= 5; ++b) layer.push_back({b * size, scale * size * std::pow(0.25 * u(rng) + 0.35, b)});
    }
    double min_bits = 0, max_bits = 0;
    for (auto& l : opts) {
      min_bits += l.front().bits;
      max_bits += l.back().bits;
    }
    const double budget = min_bits + (max_bits - min_bits) * (trial + 0.5) / 20;
    const Allocation a = allocate_bits(opts, budget);
    EXPECT_LE(a.bits, budget);
    // Exhaustive optimum.
    double best = INFINITY;
    for (int code = 0; code < 4 * 4 * 4 * 4 * 4; ++code) {
      double bits = 0, cost = 0;
      for (int l = 0, c = code; l < 5; ++l, c /= 4) {
        bits += opts[l][c % 4].bits;
        cost += opts[l][c % 4].cost;
      }
      if (bits <= budget) best = std::min(best, cost);
    }
    // The Lagrangian solution is optimal on the convex hull; the greedy fill closes most of the
    // remaining gap. Allow 25% above the exhaustive optimum.
    EXPECT_LE(a.cost, best * 1.25 + 1e-12) << "trial " << trial;
  }
  EXPECT_THROW(allocate_bits({{{10, 1}, {20, 0.5}}}, 5), Error);
  EXPECT_THROW(allocate_bits({{}}, 5), Error);
}
