// The Vulkan forward pass on its own: one-token decoding agrees with batched prefill (mat-vec and
// mat-mul kernels, single-query and causal batched attention), prefill split over several
// submissions, staged input/output copies and the timed profile mode give the same logits, and
// bad calls or unsupported models get one clear error. (Agreement with the CPU reference forward
// pass is tested in test_vulkan_forward.cpp.)
// Tolerance between decode and prefill: 1e-4 relative to the largest logit of the row (the two
// kernel families sum in different orders); staged and profiled runs must be bit-identical.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>

#include "common/error.h"
#include "gpu_test.h"
#include "model/vulkan_forward.h"

using namespace bitlens;
using namespace bitlens::model;

namespace {

// A PackedModel of the given shape with random weights (N(0, 0.1^2), norm weights near 1).
PackedModel random_packed_model(const ModelConfig& c, quant::Format format, uint64_t seed) {
  uint64_t s = seed;
  auto matrix = [&](uint32_t rows, uint32_t cols) {
    const auto w = test::random_normal(size_t(rows) * cols, ++s, 0.1f);
    return pack_matrix(Matrix{w.data(), rows, cols}, format, 64);
  };
  auto norm = [&](uint32_t n) {
    auto w = test::random_normal(n, ++s, 0.1f);
    for (float& v : w) v += 1.0f;
    return w;
  };
  PackedModel m;
  m.config = c;
  m.token_embedding = matrix(c.vocab_size, c.dim);
  if (!c.shared_classifier) m.classifier = matrix(c.vocab_size, c.dim);
  const uint32_t rows[kLinearsPerLayer] = {c.dim, c.kv_dim(), c.kv_dim(), c.dim, c.hidden_dim, c.dim, c.hidden_dim};
  const uint32_t cols[kLinearsPerLayer] = {c.dim, c.dim, c.dim, c.dim, c.dim, c.hidden_dim, c.dim};
  for (uint32_t l = 0; l < c.n_layers; ++l) {
    PackedLayer layer;
    layer.rms_att = norm(c.dim);
    layer.rms_ffn = norm(c.dim);
    for (uint32_t i = 0; i < kLinearsPerLayer; ++i) layer.linears[i].weight = matrix(rows[i], cols[i]);
    m.layers.push_back(std::move(layer));
  }
  m.rms_final = norm(c.dim);
  return m;
}

ModelConfig small_config(bool awkward) {
  ModelConfig c;
  c.dim = awkward ? 36 : 64;  // awkward: 6 heads of 6 (not a multiple of 4), rows not whole tiles
  c.hidden_dim = awkward ? 100 : 96;
  c.n_layers = 2;
  c.n_heads = awkward ? 6 : 4;
  c.n_kv_heads = 2;
  c.vocab_size = 300;
  c.seq_len = 32;
  c.shared_classifier = !awkward;
  return c;
}

double relative_error(std::span<const float> got, std::span<const float> ref) {
  double err = 0, mag = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    err = std::max(err, std::abs(double(got[i]) - ref[i]));
    mag = std::max(mag, std::abs(double(ref[i])));
  }
  return err / mag;
}

std::vector<uint32_t> random_tokens(uint32_t n, uint32_t vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> t(n);
  for (auto& v : t) v = uint32_t(rng() % vocab);
  return t;
}

std::vector<float> copy(std::span<const float> v) { return {v.begin(), v.end()}; }

class VulkanForwardApi : public test::GpuTest, public ::testing::WithParamInterface<bool> {};

TEST_P(VulkanForwardApi, DecodeAgreesWithBatchedPrefill) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const ModelConfig c = small_config(GetParam());
  for (auto format : {quant::Format::F32, quant::Format::Q4}) {
    const PackedModel m = random_packed_model(c, format, seed);
    VulkanForwardOptions o;
    o.max_batch = 5;  // 12 tokens take three submissions
    VulkanForward f(gpu(), m, o);
    const auto tokens = random_tokens(12, c.vocab_size, seed);
    const std::vector<float> all = copy(f.prefill(tokens, 0, true));
    ASSERT_EQ(all.size(), tokens.size() * c.vocab_size);
    const std::vector<float> last = copy(f.prefill(tokens, 0, false));
    EXPECT_LE(relative_error(last, std::span(all).last(c.vocab_size)), 1e-4);  // a mat-vec, not a mat-mul
    f.reset();
    for (uint32_t p = 0; p < tokens.size(); ++p) {
      const auto row = f.forward(tokens[p], p);
      ASSERT_TRUE(std::all_of(row.begin(), row.end(), [](float v) { return std::isfinite(v); }));
      EXPECT_LE(relative_error(row, std::span(all).subspan(size_t(p) * c.vocab_size, c.vocab_size)), 1e-4)
          << quant::format_info(format).name << " position " << p;
    }
  }
}

TEST_P(VulkanForwardApi, StagedAndProfiledRunsGiveTheSameLogits) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const ModelConfig c = small_config(GetParam());
  const PackedModel m = random_packed_model(c, quant::Format::Q8, seed);
  const auto tokens = random_tokens(7, c.vocab_size, seed);
  auto run = [&](const VulkanForwardOptions& o, std::map<std::string, kernels::OpTime>* profile) {
    VulkanForward f(gpu(), m, o);
    std::vector<float> out = copy(f.prefill(std::span(tokens).first(6), 0, true));
    const auto step = f.forward(tokens[6], 6);
    out.insert(out.end(), step.begin(), step.end());
    if (profile) *profile = f.profile();
    return out;
  };
  const std::vector<float> plain = run({}, nullptr);
  VulkanForwardOptions staged;
  staged.staged_io = true;
  EXPECT_EQ(run(staged, nullptr), plain);
  if (!gpu().caps().timestamps) return;
  VulkanForwardOptions timed;
  timed.profile = true;
  std::map<std::string, kernels::OpTime> profile;
  EXPECT_EQ(run(timed, &profile), plain);
  for (const char* op : {"embedding", "rmsnorm", "rope", "attention", "swiglu", "classifier"}) {
    ASSERT_TRUE(profile.count(op)) << op;
    EXPECT_EQ(profile[op].calls % 2, 0u) << op << ": one prefill and one decode step";
    EXPECT_GT(profile[op].ns, 0.0) << op;
  }
  uint64_t products = 0;
  for (const auto& [label, t] : profile)
    if (label[0] == 'w') products += t.calls;
  EXPECT_GE(products, 2u * 4 * c.n_layers) << "at least wq/wk/wv, wo, w1/w3 and w2 of every layer, twice";
}

INSTANTIATE_TEST_SUITE_P(Shapes, VulkanForwardApi, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "awkward" : "tiny"; });

class VulkanForwardRefusals : public test::GpuTest {};

TEST_F(VulkanForwardRefusals, BadCallsAndUnsupportedModels) {
  const ModelConfig c = small_config(false);
  const PackedModel m = random_packed_model(c, quant::Format::F32, 7);
  VulkanForward f(gpu(), m);
  const std::vector<uint32_t> ok = {1, 2, 3};
  EXPECT_THROW(f.prefill(std::vector<uint32_t>{}, 0, false), Error);
  EXPECT_THROW(f.prefill(std::vector<uint32_t>{c.vocab_size}, 0, false), Error);  // outside the vocabulary
  EXPECT_THROW(f.forward(1, 1), Error);                                            // position 0 never ran
  EXPECT_THROW(f.prefill(std::vector<uint32_t>(c.seq_len + 1, 1), 0, false), Error);  // past the context
  f.prefill(ok, 0, false);
  EXPECT_NO_THROW(f.forward(4, 3));
  EXPECT_THROW(f.forward(4, 5), Error);  // skips position 4
  f.reset();
  EXPECT_THROW(f.forward(4, 1), Error);  // the cache was forgotten

  PackedModel lora = random_packed_model(c, quant::Format::F32, 8);
  lora.layers[1].linear(Linear::W2).lora_rank = 4;
  EXPECT_THROW(VulkanForward(gpu(), lora), UnsupportedError);
  PackedModel wrong = random_packed_model(c, quant::Format::F32, 9);
  wrong.layers[0].linear(Linear::Wk).weight = wrong.layers[0].linear(Linear::Wq).weight;  // [dim x dim], not [kv x dim]
  EXPECT_THROW(VulkanForward(gpu(), wrong), Error);
  wrong = random_packed_model(c, quant::Format::F32, 10);
  wrong.rms_final.pop_back();
  EXPECT_THROW(VulkanForward(gpu(), wrong), Error);
}

}  // namespace
