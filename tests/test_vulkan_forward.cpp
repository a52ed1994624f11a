// The Vulkan forward pass on tiny random models of awkward shapes (head width not a multiple of 4,
// grouped-query heads, rows not whole tiles, widths not multiples of 32, shared and separate
// classifiers):
//  - against the CPU reference forward pass (CpuForward) on the model it stands for, in every
//    weight format, with Hadamard rotations on inputs and outputs and with LoRA factors: prefill of all positions
//    split over several submissions, a second prefill, one-token decoding;
//  - on its own: decoding agrees with batched prefill (mat-vec and mat-mul kernels, single-query
//    and batched attention), staged input/output copies and the timed profile mode give the same
//    logits, decode with RMSNorm, SwiGLU and input rotations fused into the mat-vecs gives the
//    logits of separate dispatches, and bad calls or unsupported models get one clear error.
//  - with an fp16 KV cache, against the CPU reference rounding its keys and values the same way;
// Tolerance (relative to the largest reference logit of the row): 1e-4 for fp32 weights and
// between decode and prefill, 1e-3 for quantized weights (the CPU runs the dequantized model; the
// kernels sum in another order); staged and profiled runs must be bit-identical.
// (The real model is tested in test_vulkan_forward_model.cpp.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>

#include "common/error.h"
#include "common/fp16.h"
#include "gpu_test.h"
#include "model/cpu_forward.h"
#include "model/float_model.h"
#include "model/vulkan_forward.h"
#include "model_fixtures.h"
#include "synthetic_model.h"
#include "quant/hadamard.h"

using namespace bitlens;
using namespace bitlens::model;
using test::random_tokens;

namespace {

// max_i |got_i - ref_i| / max_i |ref_i| over one row of logits.
double relative_error(std::span<const float> got, std::span<const float> ref) {
  double err = 0, mag = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    err = std::max(err, std::abs(double(got[i]) - ref[i]));
    mag = std::max(mag, std::abs(double(ref[i])));
  }
  return err / mag;
}

void expect_rows_close(std::span<const float> got, std::span<const float> ref, uint32_t vocab, double tol,
                       const std::string& what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  for (size_t r = 0; r < ref.size() / vocab; ++r) {
    const auto g = got.subspan(r * vocab, vocab), f = ref.subspan(r * vocab, vocab);
    ASSERT_TRUE(std::all_of(g.begin(), g.end(), [](float v) { return std::isfinite(v); })) << what << " row " << r;
    ASSERT_LE(relative_error(g, f), tol) << what << " row " << r;
  }
}

ModelConfig awkward_config(bool shared) {
  ModelConfig c;
  c.dim = 36;  // 6 heads of 6: head width not a multiple of 4, dim not a multiple of 32
  c.hidden_dim = 100;
  c.n_layers = 2;
  c.n_heads = 6;
  c.n_kv_heads = 2;
  c.vocab_size = 300;
  c.seq_len = 40;
  c.shared_classifier = shared;
  return c;
}

std::vector<float> copy(std::span<const float> v) { return {v.begin(), v.end()}; }

// A synthetic model (synthetic_model.h) packed round-to-nearest in `format`.
PackedModel random_packed_model(const ModelConfig& c, quant::Format format, uint64_t seed) {
  PackOptions o;
  o.linear_format = format;
  o.embedding_format = format;
  return pack_model(test::synthetic_model(c, seed), o);
}

// Runs the same token stream through both backends: all logits of a prefill split in two calls,
// then one-token steps.
void compare_backends(Forward& cpu, VulkanForward& gpu, uint32_t vocab, uint64_t seed, double tol) {
  const uint32_t n = std::min<uint32_t>(cpu.config().seq_len, 24);
  const std::vector<uint32_t> tokens = random_tokens(n, vocab, seed);
  const uint32_t first = n / 3 + 1, decode = 4;
  std::vector<float> ref = copy(cpu.prefill(std::span(tokens).first(first), 0, true));
  expect_rows_close(gpu.prefill(std::span(tokens).first(first), 0, true), ref, vocab, tol, "prefill");
  const auto rest = std::span(tokens).subspan(first, n - first - decode);
  ref = copy(cpu.prefill(rest, first, true));
  expect_rows_close(gpu.prefill(rest, first, true), ref, vocab, tol, "second prefill");
  for (uint32_t p = n - decode; p < n; ++p) {
    ref = copy(cpu.forward(tokens[p], p));
    expect_rows_close(gpu.forward(tokens[p], p), ref, vocab, tol, "decode at position " + std::to_string(p));
  }
}

struct Case {
  bool awkward;
  bool shared;
  quant::Format format;
  bool rotations;
  bool lora = false;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  return std::string(c.awkward ? "awkward" : "tiny") + (c.shared ? "_shared" : "_separate") + "_" +
         quant::format_info(c.format).name + (c.rotations ? "_rotated" : "") + (c.lora ? "_lora" : "");
}

// Gives every linear of `m` random input and output rotations (with a shared input rotation on
// wq/wk and its own on wv) wherever the width allows one.
void add_rotations(PackedModel& m, uint64_t seed) {
  for (auto& layer : m.layers)
    for (uint32_t i = 0; i < kLinearsPerLayer; ++i) {
      quant::PackedLinear& l = layer.linears[i];
      const uint32_t in = l.weight.layout.cols, out = l.weight.layout.rows;
      const uint64_t in_seed = (Linear(i) == Linear::Wk ? uint64_t(Linear::Wq) : i) + seed;
      if (quant::hadamard_supported(in)) {
        l.rotation.input = true;
        l.rotation.input_signs = quant::random_sign_bits(in, in_seed);
      }
      if (quant::hadamard_supported(out) && Linear(i) != Linear::W3) {
        l.rotation.output = true;
        l.rotation.output_signs = quant::random_sign_bits(out, seed * 31 + i);
      }
    }
}

// Gives every linear of `m` random fp16 LoRA factors of rank 1 + (layer + linear) % 5.
void add_lora(PackedModel& m, uint64_t seed) {
  for (size_t i = 0; i < m.layers.size(); ++i)
    for (uint32_t k = 0; k < kLinearsPerLayer; ++k) {
      quant::PackedLinear& l = m.layers[i].linears[k];
      const uint32_t rank = 1 + uint32_t(i + k) % 5, in = l.weight.layout.cols, out = l.weight.layout.rows;
      const uint64_t s = seed + 100 * (i * kLinearsPerLayer + k);
      l.lora_rank = rank;
      l.lora_scale = 0.25f;
      l.lora_a.clear();
      l.lora_b.clear();
      for (float v : test::random_normal(size_t(rank) * in, s, 0.2f)) l.lora_a.push_back(float_to_half(v));
      for (float v : test::random_normal(size_t(out) * rank, s + 1, 0.2f)) l.lora_b.push_back(float_to_half(v));
    }
}

class VulkanForwardTiny : public test::GpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(VulkanForwardTiny, MatchesCpuForward) {
  const Case c = GetParam();
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const ModelConfig config = c.awkward ? awkward_config(c.shared) : test::tiny_config(c.shared);
  PackedModel packed = random_packed_model(config, c.format, seed);
  if (c.rotations) add_rotations(packed, seed);
  if (c.lora) add_lora(packed, seed);
  CpuForward cpu(to_float_model(packed));
  VulkanForwardOptions vo;
  vo.max_batch = 5;  // the first prefill spans several submissions
  VulkanForward gpu_forward(gpu(), packed, vo);
  const bool exact = c.format == quant::Format::F32;
  compare_backends(cpu, gpu_forward, config.vocab_size, seed, exact ? 1e-4 : 1e-3);
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (bool awkward : {false, true})
    for (bool shared : {true, false})
      for (auto f : {quant::Format::F32, quant::Format::F16, quant::Format::Q8, quant::Format::Q4, quant::Format::Q3,
                     quant::Format::Q2})
        cases.push_back({awkward, shared, f, false});
  cases.push_back({false, true, quant::Format::F32, true});
  cases.push_back({false, false, quant::Format::Q4, true});
  cases.push_back({false, true, quant::Format::F32, false, true});
  cases.push_back({true, false, quant::Format::Q2, false, true});
  cases.push_back({false, false, quant::Format::Q4, true, true});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Models, VulkanForwardTiny, ::testing::ValuesIn(all_cases()), case_name);

// An fp16 KV cache against the CPU reference rounding its keys and values to fp16 alike, on both
// shapes, fp32 and q4 weights, within 1e-3: a key or value near a rounding boundary can round the
// other way after fp32 sums in another order, one half ulp (2^-11 relative) that moved the logits
// of fp32 weights by up to 3e-4 in 60 seeds. Its cache holds half the bytes (heads of 8 | d).
class VulkanForwardF16Cache : public test::GpuTest, public ::testing::WithParamInterface<bool> {};

TEST_P(VulkanForwardF16Cache, MatchesCpuForwardRoundingTheSame) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const ModelConfig config = GetParam() ? awkward_config(false) : test::tiny_config();
  for (quant::Format format : {quant::Format::F32, quant::Format::Q4}) {
    SCOPED_TRACE(quant::format_info(format).name);
    const PackedModel packed = random_packed_model(config, format, seed);
    CpuForward cpu(to_float_model(packed));
    cpu.set_kv_f16(true);
    VulkanForwardOptions vo;
    vo.max_batch = 5;
    vo.kv_cache = kernels::KvPrecision::F16;
    VulkanForward gpu_forward(gpu(), packed, vo);
    compare_backends(cpu, gpu_forward, config.vocab_size, seed, 1e-3);
    if (config.head_dim() % 8 == 0) {
      VulkanForward f32_cache(gpu(), packed);
      EXPECT_EQ(2 * gpu_forward.kv_cache_bytes(), f32_cache.kv_cache_bytes());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, VulkanForwardF16Cache, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "awkward" : "tiny"; });

class VulkanForwardApi : public test::GpuTest, public ::testing::WithParamInterface<bool> {};

TEST_P(VulkanForwardApi, DecodeAgreesWithBatchedPrefill) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const ModelConfig c = GetParam() ? awkward_config(false) : test::tiny_config();
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
  const ModelConfig c = GetParam() ? awkward_config(false) : test::tiny_config();
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
    EXPECT_GT(profile[op].ns, 0.0) << op;
  }
  for (const char* op : {"embedding", "attention", "classifier"})
    EXPECT_EQ(profile[op].calls % 2, 0u) << op << ": one prefill and one decode step";
  uint64_t products = 0;
  for (const auto& [label, t] : profile)
    if (label[0] == 'w') products += t.calls;
  EXPECT_GE(products, 2u * 4 * c.n_layers) << "at least wq/wk/wv, wo, w1/w3 and w2 of every layer, twice";
}

INSTANTIATE_TEST_SUITE_P(Shapes, VulkanForwardApi, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "awkward" : "tiny"; });

// Logits of decode steps over `tokens` from position 0, with or without the fused decode inputs
// (and the per-op profile when asked).
std::vector<float> decode_steps(kernels::Gpu& gpu, const PackedModel& m, std::span<const uint32_t> tokens, bool fused,
                                std::map<std::string, kernels::OpTime>* profile) {
  VulkanForwardOptions o;
  o.fused_inputs = fused;
  o.profile = profile != nullptr;
  VulkanForward f(gpu, m, o);
  std::vector<float> out;
  for (uint32_t t = 0; t < tokens.size(); ++t) {
    const auto step = f.forward(tokens[t], t);
    out.insert(out.end(), step.begin(), step.end());
  }
  if (profile) *profile = f.profile();
  return out;
}

// Whether this device's mat-vecs transform (and rotate) their input themselves.
bool fuses_decode_inputs(kernels::Gpu& gpu) {
  return gpu.strategy() == kernels::Strategy::TilePerInvocation && gpu.caps().subgroup_shuffle &&
         gpu.caps().subgroup_size >= 8;
}

class VulkanForwardRefusals : public test::GpuTest {};
class VulkanForwardRotated : public test::GpuTest {};

// Decode with RMSNorm and SwiGLU inside the mat-vecs (where the device's kernels do it) gives the
// logits of separate dispatches (1e-4: the fused norm sums squares in another order) with 4 L + 1
// fewer dispatches per step.
TEST_P(VulkanForwardApi, FusedDecodeInputsMatchSeparateDispatches) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const ModelConfig c = GetParam() ? awkward_config(false) : test::tiny_config();
  for (quant::Format format : {quant::Format::Q4, quant::Format::Q2, quant::Format::F16}) {
    SCOPED_TRACE(quant::format_info(format).name);
    const PackedModel m = random_packed_model(c, format, seed);
    const auto tokens = random_tokens(5, c.vocab_size, seed);
    auto run = [&](bool fused, std::map<std::string, kernels::OpTime>* profile) {
      return decode_steps(gpu(), m, tokens, fused, profile);
    };
    expect_rows_close(run(true, nullptr), run(false, nullptr), c.vocab_size, 1e-4, "fused vs separate");
    if (!gpu().caps().timestamps) continue;
    std::map<std::string, kernels::OpTime> fused, separate;
    run(true, &fused);
    run(false, &separate);
    const uint64_t steps = tokens.size();
    EXPECT_EQ(separate["rmsnorm"].calls, steps * (2 * c.n_layers + 1));
    EXPECT_EQ(separate["swiglu"].calls, steps * c.n_layers);
    const bool fusable = fuses_decode_inputs(gpu());
    EXPECT_EQ(fused["rmsnorm"].calls, fusable ? 0u : separate["rmsnorm"].calls);
    EXPECT_EQ(fused["swiglu"].calls, fusable ? 0u : separate["swiglu"].calls);
  }
}

// Decode of a model whose linears all have input and output rotations (wq and wk sharing one
// input rotation): with fused inputs the mat-vecs rotate their inputs themselves (where the
// device's kernels can), so only the output rotations remain dispatches (those of wo and w2 add
// their rows to the residual stream, so every norm fuses too), and the logits are those of
// separate dispatches (1e-4).
TEST_F(VulkanForwardRotated, FusedDecodeRotatesInputsInsideTheMatVecs) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const ModelConfig c = test::tiny_config();
  for (quant::Format format : {quant::Format::Q4, quant::Format::Q2, quant::Format::F32}) {
    SCOPED_TRACE(quant::format_info(format).name);
    PackedModel m = random_packed_model(c, format, seed);
    add_rotations(m, seed);
    const auto tokens = random_tokens(4, c.vocab_size, seed);
    auto run = [&](bool fused, std::map<std::string, kernels::OpTime>* profile, const PackedModel& m) {
      return decode_steps(gpu(), m, tokens, fused, profile);
    };
    expect_rows_close(run(true, nullptr, m), run(false, nullptr, m), c.vocab_size, 1e-4, "fused vs separate");
    if (!gpu().caps().timestamps) continue;
    // The same model with output rotations only: its rotate ops are the output rotations.
    PackedModel outputs_only = m;
    for (auto& layer : outputs_only.layers)
      for (quant::PackedLinear& l : layer.linears) l.rotation.input = false;
    std::map<std::string, kernels::OpTime> fused, separate, output_ops;
    run(true, &fused, m);
    run(false, &separate, m);
    run(false, &output_ops, outputs_only);
    ASSERT_GT(output_ops["rotate"].calls, 0u);
    EXPECT_GT(separate["rotate"].calls, output_ops["rotate"].calls);
    const bool fusable = fuses_decode_inputs(gpu());
    if (!fusable) continue;
    EXPECT_EQ(fused["rotate"].calls, output_ops["rotate"].calls);
    EXPECT_EQ(fused["rmsnorm"].calls, 0u) << "rotated outputs add themselves to the residual: every norm fuses";
    EXPECT_EQ(fused["swiglu"].calls, 0u);
  }
}

// The same rotated model on the GPU strategy (one tile per subgroup; on lavapipe too), where the
// mat-vecs do not rotate: copies and rotation dispatches for the inputs, the multi-part output
// rotations of the shared-memory kernel adding wo and w2 into the residual; against the CPU
// reference (1e-3, q4 weights) for prefill and decode.
TEST_F(VulkanForwardRotated, GpuStrategyMatchesCpuForward) {
  if (!gpu().caps().subgroup_arithmetic || gpu().caps().subgroup_size % 8 != 0)
    GTEST_SKIP() << "no subgroup arithmetic in lanes of 8: no GPU-strategy mat-vec";
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const ModelConfig c = test::tiny_config();
  PackedModel m = random_packed_model(c, quant::Format::Q4, seed);
  add_rotations(m, seed);
  CpuForward cpu(to_float_model(m));
  gpu().set_strategy(kernels::Strategy::TilePerSubgroup);
  VulkanForwardOptions vo;
  vo.max_batch = 5;
  VulkanForward gpu_forward(gpu(), m, vo);
  compare_backends(cpu, gpu_forward, c.vocab_size, seed, 1e-3);
}

TEST_F(VulkanForwardRefusals, BadCallsAndUnsupportedModels) {
  const ModelConfig c = test::tiny_config();
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
  lora.layers[1].linear(Linear::W2).lora_rank = 4;  // without its factors
  EXPECT_THROW(VulkanForward(gpu(), lora), Error);
  PackedModel wrong = random_packed_model(c, quant::Format::F32, 9);
  wrong.layers[0].linear(Linear::Wk).weight = wrong.layers[0].linear(Linear::Wq).weight;  // [dim x dim], not [kv x dim]
  EXPECT_THROW(VulkanForward(gpu(), wrong), Error);
  wrong = random_packed_model(c, quant::Format::F32, 10);
  wrong.rms_final.pop_back();
  EXPECT_THROW(VulkanForward(gpu(), wrong), Error);
}

}  // namespace
