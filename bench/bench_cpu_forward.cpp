// CPU reference forward pass on the real model (data/stories15M.bin, or $BITLENS_MODEL): one
// decoding step (memory-bound: reports the weight bytes read per second) and an evaluation window
// of 256 positions with all logits (compute-bound: reports GFLOP/s of the matrix products).
//
//   ./build/bench/bitlens_bench --benchmark_filter=cpu_forward
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>

#include "common/error.h"
#include "model/cpu_forward.h"
#include "model/model_loader.h"

using namespace bitlens;

namespace {

const model::Model* real_model() {
  static const std::unique_ptr<model::Model> m = []() -> std::unique_ptr<model::Model> {
    const char* env = std::getenv("BITLENS_MODEL");
    try {
      return std::make_unique<model::Model>(model::load_model(env ? env : "data/stories15M.bin"));
    } catch (const Error&) {
      return nullptr;
    }
  }();
  return m.get();
}

// Multiply-adds of the matrix products for one position (linears and classifier).
double flops_per_position(const model::ModelConfig& c) {
  const double per_layer = 2.0 * c.dim * c.dim + 2.0 * c.kv_dim() * c.dim + 3.0 * c.hidden_dim * c.dim;
  return 2.0 * (per_layer * c.n_layers + double(c.vocab_size) * c.dim);
}

void bm_decode(benchmark::State& state) {
  const model::Model* m = real_model();
  if (!m) return state.SkipWithError("no model: run from the source folder or set BITLENS_MODEL");
  model::CpuForward f(*m);
  std::vector<uint32_t> prompt(128, 500);
  prompt[0] = 1;
  f.prefill(prompt, 0, false);
  for (auto _ : state) benchmark::DoNotOptimize(f.forward(500, 128).data());
  const double weight_bytes = double(m->parameter_count()) * 4;
  state.counters["tokens/s"] = benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["GB/s"] =
      benchmark::Counter(weight_bytes * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

void bm_window(benchmark::State& state) {
  const model::Model* m = real_model();
  if (!m) return state.SkipWithError("no model: run from the source folder or set BITLENS_MODEL");
  model::CpuForward f(*m);
  const uint32_t n = uint32_t(state.range(0));
  std::vector<uint32_t> window(n);
  for (uint32_t i = 0; i < n; ++i) window[i] = i == 0 ? 1 : (i * 7919) % m->config.vocab_size;
  for (auto _ : state) {
    f.reset();
    benchmark::DoNotOptimize(f.prefill(window, 0, true).data());
  }
  const double positions = double(n) * double(state.iterations());
  state.counters["tokens/s"] = benchmark::Counter(positions, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(positions * flops_per_position(m->config) / 1e9, benchmark::Counter::kIsRate);
}

BENCHMARK(bm_decode)->Name("cpu_forward/decode")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(bm_window)->Name("cpu_forward/window")->Arg(256)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
