// Packed mat-vec / mat-mul benchmarks: every format on the LLaMA-7B layer shapes and the bundled
// model's shapes at batch 1 and 64, and the mat-vec work splits (MatMulTuning) side by side on
// 4096x4096.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <string>

#include "bench_util.h"
#include "common/fp16.h"
#include "common/parallel.h"
#include "kernels/matmul.h"
#include "quant/cpu_matmul.h"
#include "quant/lowbit_bench_weights.h"
#include "quant/packing.h"

namespace bitlens::bench {

namespace {

// Generated weights with the statistics of a trained layer: codes uniform over the grid, scales
// and offsets of a N(0, 0.02) group; floats N(0, 0.02); low-bit formats from their own quantizers
// (quant/lowbit_bench_weights.h).
struct Weights {
  quant::QuantizedMatrix q;
  std::vector<float> f;
  quant::PackedMatrix packed;
};

Weights make_weights(quant::Format format, uint32_t rows, uint32_t cols) {
  Weights w;
  const auto& info = quant::format_info(format);
  if (info.grouped) {
    w.q = quant::make_quantized(rows, cols, info.bits, 64);
    const float qmax = float((1u << info.bits) - 1);
    parallel_for(rows, [&](size_t r0, size_t r1) {
      std::mt19937 rng(uint32_t(r0 * 7919 + 1));
      for (size_t r = r0; r < r1; ++r) {
        for (uint32_t c = 0; c < cols; ++c) w.q.codes[r * cols + c] = uint8_t(rng() % (uint32_t(qmax) + 1));
        for (uint32_t g = 0; g < w.q.groups(); ++g) {
          const float scale = round_to_half(0.02f * 6.0f / qmax);
          quant::set_params(w.q, uint32_t(r), g, {scale, round_to_half(scale * std::floor(qmax / 2))});
        }
      }
    });
    w.packed = quant::pack(w.q);
  } else if (info.kind == quant::FormatKind::LowBit) {
    w.packed = quant::lowbit_bench_weights(format, rows, cols);
    w.f = quant::dequantize(w.packed);
  } else {
    w.f.resize(size_t(rows) * cols);
    parallel_for(rows, [&](size_t r0, size_t r1) {
      std::mt19937 rng(uint32_t(r0 * 104729 + 3));
      std::normal_distribution<float> nd(0.0f, 0.02f);
      for (size_t i = r0 * cols; i < r1 * cols; ++i) w.f[i] = nd(rng);
    });
    w.packed = quant::pack_float(w.f, rows, cols, format);
  }
  return w;
}

struct Variant {
  kernels::Strategy strategy;
  kernels::MatMulTuning tuning;
  bool cpu_reference = true;  // time the C++ loop too
};

void bm_matmul(benchmark::State& state, quant::Format format, uint32_t rows, uint32_t cols, uint32_t batch,
               Variant v) {
  const Weights w = make_weights(format, rows, cols);
  kernels::GpuMatrix gw(gpu(), w.packed);
  const uint32_t stride = kernels::activation_stride(cols);
  std::vector<float> x(size_t(batch) * stride, 0.0f);
  std::mt19937 rng(5);
  std::normal_distribution<float> nd;
  for (auto& e : x) e = nd(rng);
  vk::Buffer xb(gpu().ctx(), std::max<size_t>(x.size() * 4, 65536)), yb(gpu().ctx(), size_t(batch) * rows * 4);
  xb.upload(x.data(), x.size() * 4);
  const kernels::Strategy saved = gpu().strategy();
  gpu().set_strategy(v.strategy);
  kernels::MatMul mm(gpu(), gw, xb, yb, v.tuning);
  gpu().set_strategy(saved);
  auto body = [&](vk::CommandBuffer& cmd) { mm.record(cmd, {batch, 0, stride}); };

  // Warm up (the first dispatch may compile), then size the repetition count.
  const uint32_t count = repetitions_for(best_timing(1, 1, body).device);

  // The plain C++ loop on the same product.
  double cpu_loop = 0;
  if (v.cpu_reference) {
    std::vector<float> xc(size_t(batch) * cols), yc(size_t(batch) * rows);
    for (uint32_t t = 0; t < batch; ++t) std::copy_n(&x[size_t(t) * stride], cols, &xc[size_t(t) * cols]);
    const bool grouped = quant::format_info(format).grouped;
    const std::vector<float> wf = grouped ? std::vector<float>{} : w.f.empty() ? quant::dequantize(w.packed) : w.f;
    cpu_loop = best_seconds(3, [&] {
      if (grouped) quant::cpu_matmul(w.q, xc, batch, yc);
      else quant::cpu_matmul(wf, rows, cols, xc, batch, yc);
    });
  }

  Timing t;
  double bandwidth = 0;
  for (auto _ : state) {
    for (int round = 0; round < 3; ++round) {
      bandwidth = refresh_bandwidth();
      t.merge(best_timing(5, count, body));
    }
    state.SetIterationTime(t.device);
  }
  const double gbps = double(gw.bytes()) / t.device * 1e-9;
  state.counters["bpw"] = gw.layout().bpw();
  state.counters["GB/s"] = gbps;
  state.counters["bw_frac"] = gbps / bandwidth;
  state.counters["GFLOP/s"] = 2.0 * rows * cols * batch / t.device * 1e-9;
  if (v.cpu_reference) state.counters["vs_cpu"] = cpu_loop / t.device;
  state.counters["cpu_ms"] = t.cpu * 1e3;
}

void add(const std::string& name, quant::Format format, uint32_t rows, uint32_t cols, uint32_t batch, Variant v) {
  benchmark::RegisterBenchmark(name.c_str(), bm_matmul, format, rows, cols, batch, v)
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace

void register_matmul_benchmarks() {
  struct Shape {
    const char* what;
    uint32_t rows, cols;
  };
  const Shape shapes[] = {{"llama7b_qkvo", 4096, 4096}, {"llama7b_up", 11008, 4096}, {"llama7b_down", 4096, 11008},
                          {"stories_attn", 288, 288},   {"stories_up", 768, 288},    {"stories_down", 288, 768},
                          {"stories_cls", 32000, 288}};
  const kernels::Strategy native = gpu().strategy();
  for (uint32_t batch : {1u, 64u})
    for (const auto& s : shapes)
      for (const auto& f : quant::all_formats())
        add(std::string("matmul/") + s.what + "/" + std::to_string(s.rows) + "x" + std::to_string(s.cols) + "/" +
                f.name + "/batch" + std::to_string(batch),
            f.format, s.rows, s.cols, batch, {native, {}});

  // Mat-vec work splits side by side (the defaults are chosen from these).
  using S = kernels::Strategy;
  struct Split {
    const char* name;
    Variant v;
  };
  const Split splits[] = {
      {"cpu_local8_tpi2", {S::TilePerInvocation, {8, 2, 0, true}, false}},
      {"cpu_local16_tpi1", {S::TilePerInvocation, {16, 1, 0, true}, false}},
      {"cpu_local16_tpi2", {S::TilePerInvocation, {16, 2, 0, true}, false}},
      {"cpu_local16_tpi4", {S::TilePerInvocation, {16, 4, 0, true}, false}},
      {"cpu_local32_tpi2", {S::TilePerInvocation, {32, 2, 0, true}, false}},
      {"cpu_local16_tpi2_masks", {S::TilePerInvocation, {16, 2, 0, false}, false}},
      {"cpu_local16_tpi2_unshuffled_x", {S::TilePerInvocation, {16, 2, 0, true, 0, 0, false}, false}},
      {"gpu_split1", {S::TilePerSubgroup, {0, 0, 1, true}, false}},
      {"gpu_split4", {S::TilePerSubgroup, {0, 0, 4, true}, false}},
  };
  for (quant::Format f : {quant::Format::Q2, quant::Format::Q3, quant::Format::Q4})
    for (const auto& sp : splits)
      add(std::string("matvec_split/4096x4096/") + quant::format_info(f).name + "/" + sp.name, f, 4096, 4096, 1, sp.v);

  // Mat-mul (batch 64) tokens and tiles per invocation side by side.
  const std::pair<uint32_t, uint32_t> batch_splits[] = {{4, 1}, {2, 2}, {4, 2}, {8, 1}, {2, 4}};
  for (quant::Format f : {quant::Format::Q2, quant::Format::Q4, quant::Format::F16})
    for (auto [tokens, tiles] : batch_splits) {
      kernels::MatMulTuning tuning;
      tuning.batch_tokens = tokens;
      tuning.batch_tiles = tiles;
      add(std::string("matmul_split/4096x4096/") + quant::format_info(f).name + "/batch64/tokens" +
              std::to_string(tokens) + "_tiles" + std::to_string(tiles),
          f, 4096, 4096, 64, {native, tuning, false});
    }
}

}  // namespace bitlens::bench
