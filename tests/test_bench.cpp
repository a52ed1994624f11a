// The benchmark library and `bitlens bench`:
//  - synthetic models: every matrix has the shape of its configuration, the stored bytes match
//    synthetic_model_bytes, and the weights (dequantized) are finite and inside the stated range;
//  - assume_cached: a Vulkan step after it gives the CPU reference's logits after the same call
//    (both caches zero below the position; tolerance 1e-3 of the largest logit for q4 weights, as in
//    test_vulkan_forward.cpp), and bytes_per_token grows by exactly the keys and values of a position;
//  - run_bench on a tiny synthetic model fills every figure and the breakdown sums to 100%;
//  - the CLI's JSON report, and its errors.
// No test asserts a speed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "bench/bench.h"
#include "bench/synthetic.h"
#include "cli_process.h"
#include "gpu_test.h"
#include "model/cpu_forward.h"
#include "model/float_model.h"
#include "model/vulkan_forward.h"
#include "model_fixtures.h"

using namespace bitlens;

namespace {

bench::SyntheticSpec small_spec(quant::Format f, uint32_t blocks = 1) {
  bench::SyntheticSpec s;
  s.shape = "stories15m";
  s.blocks = blocks;
  s.format = f;
  return s;
}

class BenchTest : public test::GpuTest {};

}  // namespace

TEST(SyntheticModel, ShapesBytesAndRange) {
  for (quant::Format f : {quant::Format::F32, quant::Format::F16, quant::Format::Q4, quant::Format::Q3, quant::Format::Q2}) {
    SCOPED_TRACE(quant::format_info(f).name);
    const bench::SyntheticSpec spec = small_spec(f, 2);
    const model::PackedModel m = bench::synthetic_model(spec, test::fresh_seed());
    EXPECT_EQ(m.config.n_layers, 2u);
    EXPECT_EQ(m.stored_bytes(), bench::synthetic_model_bytes(spec));
    const model::Model dense = model::to_float_model(m);  // checks every shape against the config
    for (const model::Matrix* w : {&dense.weights.layers[1].linear(model::Linear::W2), &dense.weights.token_embedding}) {
      const auto s = w->span();
      EXPECT_TRUE(std::all_of(s.begin(), s.end(), [](float v) { return std::isfinite(v) && std::abs(v) <= 0.0201f; }));
      // Random, not constant: the values spread over the range.
      const auto [lo, hi] = std::minmax_element(s.begin(), s.end());
      EXPECT_LT(*lo, -0.01f);
      EXPECT_GT(*hi, 0.01f);
    }
  }
  EXPECT_THROW(bench::synthetic_config("llama99b"), Error);
  EXPECT_THROW(bench::synthetic_model(small_spec(quant::Format::Ternary)), UnsupportedError);
  const model::ModelConfig c = bench::synthetic_config("llama7b");
  EXPECT_EQ(c.dim, 4096u);
  EXPECT_EQ(c.hidden_dim, 11008u);
  EXPECT_EQ(c.n_layers, 32u);
}

TEST_F(BenchTest, AssumeCachedMatchesTheCpuReference) {
  const model::ModelConfig c = test::tiny_config(false);
  const model::PackedModel packed =
      model::pack_model(test::synthetic_model(c, test::fresh_seed()), {quant::Format::Q4, 32, quant::Format::Q4, 32});
  model::VulkanForward gpu_forward(gpu(), packed);
  model::CpuForward cpu_forward(model::to_float_model(packed));
  for (uint32_t pos : {5u, c.seq_len - 1, 0u}) {
    SCOPED_TRACE(pos);
    gpu_forward.assume_cached(pos);
    cpu_forward.assume_cached(pos);
    const auto ref = cpu_forward.forward(7, pos);
    const std::vector<float> want(ref.begin(), ref.end());
    const auto got = gpu_forward.forward(7, pos);
    double err = 0, mag = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_TRUE(std::isfinite(got[i]));
      err = std::max(err, std::abs(double(got[i]) - want[i]));
      mag = std::max(mag, std::abs(double(want[i])));
    }
    EXPECT_LE(err, 1e-3 * mag);
  }
  EXPECT_THROW(gpu_forward.assume_cached(c.seq_len + 1), Error);
  EXPECT_THROW(cpu_forward.assume_cached(c.seq_len + 1), Error);
  const uint64_t row = uint64_t(c.n_kv_heads) * ((c.head_dim() + 3) / 4) * 16;
  EXPECT_EQ(gpu_forward.bytes_per_token(9) - gpu_forward.bytes_per_token(4), 5 * 2 * c.n_layers * row);
  // Separate classifier: all of it and one embedding row are read, the rest of the table is not.
  EXPECT_LT(gpu_forward.bytes_per_token(1), gpu_forward.weight_bytes());
  EXPECT_GT(gpu_forward.bytes_per_token(1), packed.classifier->layout.total_bytes());
}

TEST_F(BenchTest, RunBenchFillsEveryFigure) {
  const model::PackedModel m = bench::synthetic_model(small_spec(quant::Format::Q4), test::fresh_seed());
  bench::BenchOptions o;
  o.decode_contexts = {4, 0, 4, 1000};  // duplicates and values past the context collapse
  o.prefill_lengths = {8};
  o.min_seconds = 0;
  o.min_repeats = 1;
  std::vector<std::string> lines;
  o.progress = [&](const std::string& l) { lines.push_back(l); };
  const bench::BenchReport r = bench::run_bench(gpu(), m, "tiny", o);
  ASSERT_EQ(r.decode.size(), 2u);
  EXPECT_EQ(r.decode[0].context, 4u);
  EXPECT_EQ(r.decode[1].context, m.config.seq_len);
  for (const auto& d : r.decode) {
    EXPECT_GT(d.tokens_per_s, 0);
    EXPECT_GT(d.cpu_tokens_per_s, 0);
    EXPECT_GT(d.limit_tokens_per_s, 0);
    EXPECT_GT(d.bytes_per_token, m.stored_bytes() / 2);
  }
  EXPECT_GT(r.decode[1].bytes_per_token, r.decode[0].bytes_per_token);
  ASSERT_EQ(r.prefill.size(), 1u);
  EXPECT_GT(r.prefill[0].tokens_per_s, 0);
  EXPECT_GT(r.prefill[0].cpu_tokens_per_s, 0);
  EXPECT_GT(r.bandwidth_gbps, 0);
  EXPECT_FALSE(lines.empty());
  if (gpu().caps().timestamps) {
    double sum = 0;
    for (const auto& k : r.kernels) sum += k.percent;
    EXPECT_NEAR(sum, 100.0, 1e-6);
    const auto has = [&](const std::string& op) {
      return std::any_of(r.kernels.begin(), r.kernels.end(), [&](const auto& k) { return k.op == op; });
    };
    EXPECT_TRUE(has("attention") && has("classifier"));
  }
  const nlohmann::json j = r.to_json();
  EXPECT_EQ(j["decode"].size(), 2u);
  EXPECT_DOUBLE_EQ(j["decode"][0]["fraction_of_limit"].get<double>(), r.decode[0].fraction_of_limit());
  EXPECT_NE(r.to_text().find("per-kernel"), std::string::npos);
}

namespace {

struct CliResult {
  int status;
  std::string out;  // stdout, then stderr
};

CliResult run_bitlens(const std::string& args) {
  const test::CliResult r = test::run_bitlens_shell(args);
  return {r.status, r.out + r.err};
}

}  // namespace

TEST(BenchCli, SyntheticJsonReportAndErrors) {
  if (test::missing_device()) return;
  const test::TempDir dir;
  const std::string json = dir.file("bench.json");
  const CliResult r = run_bitlens("bench --synthetic stories15m --blocks 1 --bits 2 --contexts 8,0 --prefill 16 "
                                  "--min-seconds 0 --repeats 1 --json '" + json + "'");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("decode"), std::string::npos);
  const nlohmann::json j = nlohmann::json::parse(read_text_file(json));
  EXPECT_EQ(j["decode"].size(), 2u);
  EXPECT_EQ(j["decode"][1]["context"], 256);
  EXPECT_GT(j["prefill"][0]["tokens_per_s"].get<double>(), 0);
  EXPECT_GT(j["bandwidth_gbps"].get<double>(), 0);
  EXPECT_EQ(j["kv_cache"], "f32");

  // An fp16 cache: said in the report, half the cache's bytes (stories15m heads of 48 = 6 x 8).
  const CliResult f16 = run_bitlens("bench --synthetic stories15m --blocks 1 --bits 2 --contexts 8 --prefill 16 "
                                    "--min-seconds 0 --repeats 1 --no-cpu --no-profile --kv-cache f16 --json '" +
                                    json + "'");
  ASSERT_EQ(f16.status, 0) << f16.out;
  const nlohmann::json jf = nlohmann::json::parse(read_text_file(json));
  EXPECT_EQ(jf["kv_cache"], "f16");
  EXPECT_EQ(2 * jf["kv_cache_bytes"].get<uint64_t>(), j["kv_cache_bytes"].get<uint64_t>());
  const CliResult bad = run_bitlens("bench --synthetic stories15m --kv-cache f8");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.out.find("--kv-cache"), std::string::npos) << bad.out;

  const CliResult none = run_bitlens("bench");
  EXPECT_NE(none.status, 0);
  EXPECT_NE(none.out.find("bitlens: bench needs a model file or --synthetic"), std::string::npos) << none.out;
  const CliResult shape = run_bitlens("bench --synthetic llama99b --no-cpu");
  EXPECT_NE(shape.status, 0);
  EXPECT_NE(shape.out.find("unknown synthetic shape"), std::string::npos) << shape.out;
  const CliResult help = run_bitlens("bench --help");
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("--synthetic"), std::string::npos);
}
