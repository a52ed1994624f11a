// The inspector's per-layer pieces: layer names and patterns, error metrics, histograms and
// heat-map downsampling, each against a direct computation on fresh random data. (Quantization,
// saliency, allocation and recipes belong to the quant and pipeline libraries, tested in their own
// files.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "common/error.h"
#include "gpu_test.h"
#include "inspect/heatmap.h"
#include "inspect/histogram.h"
#include "inspect/layer_ref.h"
#include "inspect/metrics.h"
#include "quant/packing.h"

using namespace bitlens;
using namespace bitlens::inspect;

TEST(InspectLayers, NamesRoundTripAndPatternsSelect) {
  EXPECT_EQ((LayerRef{3, model::Linear::W2}).name(), "layers.3.w2");
  for (uint32_t i = 0; i < 4 * 7; ++i) {
    EXPECT_EQ(layer_ref(i).index(), i);
    EXPECT_EQ(parse_layer(layer_ref(i).name(), 4).index(), i);
  }
  EXPECT_EQ(parse_layers("layers.2.wo", 4), (std::vector<uint32_t>{2 * 7 + 3}));
  EXPECT_EQ(parse_layers("layers.*.w2", 3), (std::vector<uint32_t>{5, 12, 19}));
  EXPECT_EQ(parse_layers("layers.1.*", 3), (std::vector<uint32_t>{7, 8, 9, 10, 11, 12, 13}));
  EXPECT_EQ(parse_layers("*", 2).size(), 14u);
  EXPECT_EQ(parse_layers("layers.*.*", 2).size(), 14u);
  for (const char* bad : {"layers.4.wq", "layers.0.w4", "layers.0", "layers..wq", "blk.0.wq", "layers.-1.wq",
                          "layers.01x.wq", "", "layers.0.wq.", "*.wq"}) {
    EXPECT_THROW(parse_layers(bad, 4), Error) << bad;
    try {
      parse_layer(bad, 4);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("unknown layer '" + std::string(bad) + "'"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(parse_layer("layers.*.wq", 4), Error);  // one layer, not a pattern
  EXPECT_THROW(parse_layer("layers.0.wq", 0), Error);
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
  // The calibration the calib library's capture would give for these inputs: E[x^2] and the rows.
  quant::Calibration cal;
  cal.cols = cols;
  cal.sample = x;
  cal.sample_rows = tokens;
  cal.mean_square.assign(cols, 0.0f);
  for (uint32_t t = 0; t < tokens; ++t)
    for (uint32_t i = 0; i < cols; ++i) cal.mean_square[i] += x[t * cols + i] * x[t * cols + i] / float(tokens);
  // Direct sums in double: ||W - W_hat||, ||X (W - W_hat)^T||, the saliency-weighted error.
  double dw = 0, nw = 0, sd = 0, sw = 0, ey = 0, ny = 0;
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t c = 0; c < cols; ++c) {
      const double a = w[r * cols + c], d = a - w_hat[r * cols + c], s = a * a * cal.mean_square[c];
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
  const LayerMetrics m = layer_metrics(w, w_hat, rows, cols, cal);
  // Float inputs, double sums: 1e-4 relative.
  EXPECT_NEAR(m.weight_error, std::sqrt(dw / nw), 1e-4 * m.weight_error);
  EXPECT_NEAR(m.output_error, std::sqrt(ey / ny), 1e-4 * m.output_error);
  EXPECT_NEAR(m.saliency_error, std::sqrt(sd / sw), 1e-4 * m.saliency_error);
  EXPECT_THROW(layer_metrics(w, std::span(w_hat).first(10), rows, cols, cal), Error);
  quant::Calibration narrow = cal;
  narrow.cols = cols / 2;
  EXPECT_THROW(layer_metrics(w, w_hat, rows, cols, narrow), Error);
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
