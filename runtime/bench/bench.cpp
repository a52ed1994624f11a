// The measurements of run_bench (see bench.h): each figure is the best rate over repeated runs,
// the Vulkan and CPU forward passes timed one after the other in the same process, the bandwidth
// probed before, between and after them.
#include "bench/bench.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include "common/error.h"
#include "common/parallel.h"
#include "kernels/bandwidth.h"
#include "model/cpu_forward.h"
#include "model/float_model.h"
#include "model/vulkan_forward.h"

namespace bitlens::bench {

namespace {

using Clock = std::chrono::steady_clock;

std::vector<uint32_t> prompt(uint32_t n, uint32_t vocab) {
  std::vector<uint32_t> t(n);
  for (uint32_t i = 0; i < n; ++i) t[i] = uint32_t((uint64_t(i) * 7919 + 13) % vocab);
  return t;
}

// Best rate of `tokens` per call of fn over repeats lasting at least min_seconds in all.
template <class Fn>
double best_rate(const BenchOptions& o, uint32_t tokens, Fn&& fn) {
  double best = 0, spent = 0;
  for (uint32_t r = 0; r < o.min_repeats || spent < o.min_seconds; ++r) {
    const auto t0 = Clock::now();
    fn();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    spent += s;
    best = std::max(best, tokens / s);
  }
  return best;
}

// Decode: one step at position context - 1, again and again (the positions before it assumed cached).
template <class F>
double decode_rate(F& f, const BenchOptions& o, uint32_t context) {
  const uint32_t pos = context - 1, token = 13 % f.config().vocab_size;
  f.assume_cached(pos);
  f.forward(token, pos);  // warm: pipelines and the recording built
  return best_rate(o, 1, [&] {
    f.assume_cached(pos);
    f.forward(token, pos);
  });
}

template <class F>
double prefill_rate(F& f, const BenchOptions& o, uint32_t n) {
  const std::vector<uint32_t> ids = prompt(n, f.config().vocab_size);
  return best_rate(o, n, [&] {
    f.reset();
    f.prefill(ids, 0, false);
  });
}

std::vector<uint32_t> decode_contexts(const BenchOptions& o, uint32_t seq_len) {
  std::vector<uint32_t> out;
  for (uint32_t c : o.decode_contexts) {
    c = c == 0 ? seq_len : std::min(c, seq_len);
    if (c > 0 && std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  }
  return out;
}

std::vector<uint32_t> prefill_lengths(const BenchOptions& o, uint32_t seq_len) {
  std::vector<uint32_t> out;
  for (uint32_t n : o.prefill_lengths) {
    n = std::min(n, seq_len);
    if (n > 0 && std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  }
  return out;
}

void say(const BenchOptions& o, const std::string& line) {
  if (o.progress) o.progress(line);
}

// The device's read bandwidth, probed between the measurements: the best probe is the limit (a
// shared machine lowers some probes and some timings alike).
void probe_bandwidth(kernels::Gpu& gpu, const BenchOptions& o, BenchReport& r) {
  say(o, "measuring the device's read bandwidth");
  r.bandwidth_gbps = std::max(r.bandwidth_gbps, kernels::measure_read_bandwidth(gpu, 128ull << 20, 5).gbps);
}

void time_vulkan(kernels::Gpu& gpu, const model::PackedModel& m, const BenchOptions& o, BenchReport& r) {
  model::VulkanForwardOptions vo;
  vo.fused_inputs = o.fused_inputs;
  vo.kv_cache = o.kv_cache;
  model::VulkanForward f(gpu, m, vo);
  r.weight_bytes = f.weight_bytes();
  r.kv_cache_bytes = f.kv_cache_bytes();
  f.prefill(prompt(2, m.config.vocab_size), 0, false);  // batch pipelines built
  for (uint32_t c : decode_contexts(o, m.config.seq_len)) {
    say(o, "vulkan decode at context " + std::to_string(c));
    DecodeFigure d;
    d.context = c;
    d.tokens_per_s = decode_rate(f, o, c);
    d.bytes_per_token = f.bytes_per_token(c);
    r.decode.push_back(d);
  }
  for (uint32_t n : prefill_lengths(o, m.config.seq_len)) {
    say(o, "vulkan prefill of " + std::to_string(n) + " tokens");
    r.prefill.push_back({n, prefill_rate(f, o, n), 0});
  }
}

void profile_vulkan(kernels::Gpu& gpu, const model::PackedModel& m, const BenchOptions& o, BenchReport& r) {
  model::VulkanForwardOptions vo;
  vo.profile = true;
  vo.fused_inputs = o.fused_inputs;
  vo.kv_cache = o.kv_cache;
  model::VulkanForward f(gpu, m, vo);
  const uint32_t pos = r.profile_context - 1;
  say(o, "vulkan per-kernel profile at context " + std::to_string(r.profile_context));
  f.assume_cached(pos);
  f.forward(1, pos);
  const auto before = f.profile();
  uint32_t steps = 0;
  best_rate(o, 1, [&] {
    f.assume_cached(pos);
    f.forward(1, pos);
    ++steps;
  });
  double total = 0;
  for (const auto& [op, t] : f.profile()) {
    const auto b = before.find(op);
    KernelShare k;
    k.op = op;
    k.calls_per_token = (t.calls - (b == before.end() ? 0 : b->second.calls)) / steps;
    k.us_per_token = (t.ns - (b == before.end() ? 0 : b->second.ns)) * 1e-3 / steps;
    total += k.us_per_token;
    r.kernels.push_back(k);
  }
  for (KernelShare& k : r.kernels) k.percent = total > 0 ? 100.0 * k.us_per_token / total : 0;
  std::sort(r.kernels.begin(), r.kernels.end(), [](const auto& a, const auto& b) { return a.us_per_token > b.us_per_token; });
  r.profile_us_per_token = total;
}

// Weights of the first `blocks` blocks and the classifier, as a share of the whole model's
// (scales CPU times measured on fewer blocks).
double block_scale(const model::ModelConfig& c, uint32_t blocks) {
  const double block = 2.0 * c.dim * c.dim + 2.0 * c.dim * c.kv_dim() + 3.0 * c.dim * c.hidden_dim;
  const double head = double(c.vocab_size) * c.dim;
  return (c.n_layers * block + head) / (blocks * block + head);
}

void time_cpu(const model::PackedModel& m, const BenchOptions& o, BenchReport& r) {
  model::PackedModel part;
  const model::PackedModel* src = &m;
  r.cpu_blocks = o.cpu_blocks && o.cpu_blocks < m.config.n_layers ? o.cpu_blocks : m.config.n_layers;
  if (r.cpu_blocks < m.config.n_layers) {
    part.config = m.config;
    part.config.n_layers = r.cpu_blocks;
    part.token_embedding = m.token_embedding;
    part.classifier = m.classifier;
    part.layers.assign(m.layers.begin(), m.layers.begin() + r.cpu_blocks);
    part.rms_final = m.rms_final;
    src = &part;
  }
  say(o, "cpu reference: dequantizing " + std::to_string(r.cpu_blocks) + " blocks to fp32");
  model::CpuForward f(model::to_float_model(*src));
  if (src == &part) part = {};
  const double scale = block_scale(m.config, r.cpu_blocks);
  f.forward(1, 0);
  for (DecodeFigure& d : r.decode) {
    say(o, "cpu decode at context " + std::to_string(d.context));
    d.cpu_tokens_per_s = decode_rate(f, o, d.context) / scale;
  }
  for (PrefillFigure& p : r.prefill) {
    say(o, "cpu prefill of " + std::to_string(p.tokens) + " tokens");
    p.cpu_tokens_per_s = prefill_rate(f, o, p.tokens) / scale;
  }
}

}  // namespace

BenchReport run_bench(kernels::Gpu& gpu, const model::PackedModel& m, const std::string& name, const BenchOptions& o) {
  BenchReport r;
  r.model = name;
  r.device = gpu.ctx().describe();
  r.config = m.config;
  r.model_bpw = m.model_bpw();
  r.linear_bpw = m.linear_bpw();
  r.cpu_threads = cpu_threads();
  r.fused_inputs = o.fused_inputs;
  r.kv_cache = o.kv_cache;
  probe_bandwidth(gpu, o, r);
  time_vulkan(gpu, m, o, r);
  probe_bandwidth(gpu, o, r);
  if (o.profile && gpu.caps().timestamps && !r.decode.empty()) {
    r.profile_context = o.profile_context ? std::min(o.profile_context, m.config.seq_len) : r.decode.back().context;
    profile_vulkan(gpu, m, o, r);
  }
  if (o.cpu) time_cpu(m, o, r);
  probe_bandwidth(gpu, o, r);
  for (DecodeFigure& d : r.decode) d.limit_tokens_per_s = r.bandwidth_gbps * 1e9 / double(d.bytes_per_token);
  return r;
}

}  // namespace bitlens::bench
