// Whole-model benchmarks of the Vulkan forward pass (Google Benchmark, registered beside
// the kernel benchmarks) on a model with the bundled model's shapes (stories15M: dim 288, hidden 768,
// 6 layers, 6 heads, vocab 32000, context 256, shared classifier) and generated weights, in fp32,
// q4 and q2 (group 64, embedding in the same format):
//   forward/decode/<fmt>:   tokens/s of one-token steps over all 256 positions (tok_per_s)
//   forward/prefill/<fmt>:  tokens/s of a 128-token prompt (logits of the last token only)
//   forward/eval/<fmt>:     tokens/s of a 256-token window with the logits of every position
//   forward/profile/<fmt>:  device microseconds per decode step of each op (timed mode)
// and the attention kernel alone at that shape, for one query at the last position or a causal
// batch of 256 queries:
//   attention/<decode|batch256>
//
//   ./build/bench/bitlens_bench --benchmark_filter=forward/ --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "common/parallel.h"
#include "kernels/gpu.h"
#include "kernels/attention.h"
#include "model/vulkan_forward.h"
#include "params/step.h"
#include "vk/commands.h"

using namespace bitlens;
using namespace bitlens::model;

namespace {

kernels::Gpu& forward_gpu() {
  static kernels::Gpu g;
  return g;
}

ModelConfig stories15m_config() {
  ModelConfig c;
  c.dim = 288;
  c.hidden_dim = 768;
  c.n_layers = 6;
  c.n_heads = 6;
  c.n_kv_heads = 6;
  c.vocab_size = 32000;
  c.seq_len = 256;
  return c;
}

// Generated weights N(0, 0.02^2) (norm weights 1), packed round-to-nearest in `format`.
const PackedModel& packed_model(quant::Format format) {
  static std::map<quant::Format, std::unique_ptr<PackedModel>> cache;
  auto& slot = cache[format];
  if (slot) return *slot;
  const ModelConfig c = stories15m_config();
  uint64_t seed = 1;
  auto matrix = [&](uint32_t rows, uint32_t cols) {
    std::vector<float> w(size_t(rows) * cols);
    parallel_for(rows, [&](size_t r0, size_t r1) {
      std::mt19937 rng(uint32_t(seed * 7919 + r0));
      std::normal_distribution<float> nd(0.0f, 0.02f);
      for (size_t i = r0 * cols; i < r1 * cols; ++i) w[i] = nd(rng);
    });
    ++seed;
    return pack_matrix(Matrix{w.data(), rows, cols}, format, 64);
  };
  slot = std::make_unique<PackedModel>();
  PackedModel& m = *slot;
  m.config = c;
  m.token_embedding = matrix(c.vocab_size, c.dim);
  const uint32_t rows[kLinearsPerLayer] = {c.dim, c.kv_dim(), c.kv_dim(), c.dim, c.hidden_dim, c.dim, c.hidden_dim};
  const uint32_t cols[kLinearsPerLayer] = {c.dim, c.dim, c.dim, c.dim, c.dim, c.hidden_dim, c.dim};
  for (uint32_t l = 0; l < c.n_layers; ++l) {
    PackedLayer layer;
    layer.rms_att.assign(c.dim, 1.0f);
    layer.rms_ffn.assign(c.dim, 1.0f);
    for (uint32_t i = 0; i < kLinearsPerLayer; ++i) layer.linears[i].weight = matrix(rows[i], cols[i]);
    m.layers.push_back(std::move(layer));
  }
  m.rms_final.assign(c.dim, 1.0f);
  return m;
}

std::vector<uint32_t> tokens(uint32_t n) {
  std::vector<uint32_t> t(n);
  for (uint32_t i = 0; i < n; ++i) t[i] = (i * 7919 + 13) % 32000;
  return t;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

enum class Mode { Decode, Prefill, Eval };

void bm_forward(benchmark::State& state, quant::Format format, Mode mode) {
  VulkanForward f(forward_gpu(), packed_model(format));
  const std::vector<uint32_t> ids = tokens(256);
  f.prefill(std::span(ids).first(2), 0, true);  // pipelines built, recordings warm
  f.forward(ids[2], 2);
  uint64_t total = 0;
  for (auto _ : state) {
    f.reset();
    const auto t0 = std::chrono::steady_clock::now();
    uint32_t n = 0;
    if (mode == Mode::Decode) {
      for (n = 0; n < 256; ++n) f.forward(ids[n], n);
    } else {
      n = mode == Mode::Prefill ? 128 : 256;
      f.prefill(std::span(ids).first(n), 0, mode == Mode::Eval);
    }
    state.SetIterationTime(seconds_since(t0));
    total += n;
  }
  state.counters["tok_per_s"] = benchmark::Counter(double(total), benchmark::Counter::kIsRate);
  state.counters["weights_MB"] = double(f.weight_bytes()) * 1e-6;
}

void bm_profile(benchmark::State& state, quant::Format format) {
  VulkanForwardOptions o;
  o.profile = true;
  VulkanForward f(forward_gpu(), packed_model(format), o);
  const std::vector<uint32_t> ids = tokens(256);
  for (auto _ : state) {
    f.reset();
    const auto t0 = std::chrono::steady_clock::now();
    for (uint32_t n = 0; n < 256; ++n) f.forward(ids[n], n);
    state.SetIterationTime(seconds_since(t0));
  }
  double steps = double(state.iterations()) * 256, total = 0;
  for (const auto& [op, t] : f.profile()) {
    state.counters[op + "_us"] = t.ns * 1e-3 / steps;
    total += t.ns;
  }
  state.counters["device_us"] = total * 1e-3 / steps;
}

void bm_attention(benchmark::State& state, uint32_t n) {
  kernels::Gpu& gpu = forward_gpu();
  const kernels::HeadShape shape{6, 6, 48};
  const uint32_t seq_len = 256, dim = 288;
  kernels::KvCache cache(gpu, shape, seq_len, 1);
  cache.keys(0).fill(0x3c000000u);  // 2^-7: finite scores
  cache.values(0).fill(0x3c000000u);
  kernels::AttentionScratch scratch(gpu, shape, seq_len);
  vk::Buffer q(gpu.ctx(), size_t(n) * dim * 4), out(gpu.ctx(), size_t(n) * dim * 4), step(gpu.ctx(), 16);
  q.fill(0x3c000000u);
  const kernels::StepState s{seq_len - n};
  step.upload(&s, sizeof(s));
  kernels::Attention att(gpu, cache, 0, scratch, q, step, out);
  constexpr uint32_t kReps = 64;
  vk::QueryPool queries(gpu.ctx(), 2);
  vk::CommandBuffer cmd(gpu.ctx());
  cmd.reset_queries(queries, 0, 2);
  cmd.timestamp(queries, 0);
  for (uint32_t i = 0; i < kReps; ++i) {
    att.record(cmd, {n, 0, dim, 0, dim});
    cmd.barrier();
  }
  cmd.timestamp(queries, 1);
  double best = 1e30;
  for (auto _ : state) {
    cmd.submit_and_wait();
    const auto ns = queries.read_ns(2);
    best = std::min(best, (ns[1] - ns[0]) * 1e-9 / kReps);
    state.SetIterationTime((ns[1] - ns[0]) * 1e-9 / kReps);
  }
  state.counters["best_us"] = best * 1e6;
}

const bool registered = [] {
  for (uint32_t n : {1u, 256u})
    benchmark::RegisterBenchmark(n == 1 ? "attention/decode" : "attention/batch256", bm_attention, n)
        ->UseManualTime()
        ->Iterations(5)
        ->Unit(benchmark::kMicrosecond);
  for (auto f : {quant::Format::F32, quant::Format::Q4, quant::Format::Q2}) {
    const std::string fmt = quant::format_info(f).name;
    for (auto [mode, what] : {std::pair{Mode::Decode, "decode"}, {Mode::Prefill, "prefill"}, {Mode::Eval, "eval"}})
      benchmark::RegisterBenchmark(("forward/" + std::string(what) + "/" + fmt).c_str(), bm_forward, f, mode)
          ->UseManualTime()
          ->Iterations(mode == Mode::Decode ? 1 : 3)
          ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("forward/profile/" + fmt).c_str(), bm_profile, f)
        ->UseManualTime()
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond);
  }
  return true;
}();

}  // namespace
