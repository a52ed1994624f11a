// Kernel benchmarks (Google Benchmark): packed mat-vec / mat-mul for the LLaMA-7B layer shapes and
// the bundled model's shapes, every format, batch 1 and 64; and the Hadamard rotation against a
// plain copy. Each figure is the best of several timestamped submissions on the device, reported
// with effective GB/s, its fraction of the device's read bandwidth measured in the same run
// (bw_frac), and its speed relative to a plain multi-threaded C++ loop doing the same product on
// the CPU in the same run (vs_cpu = cpu_time / device_time).
//
//   ./build/bench/bitlens_bench --benchmark_counters_tabular=true [--benchmark_filter=4096x4096]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>

#include "common/fp16.h"
#include "common/parallel.h"
#include "params/rotate.h"
#include "kernels/bandwidth.h"
#include "kernels/gpu.h"
#include "kernels/matmul.h"
#include "kernels/rotate.h"
#include "quant/cpu_matmul.h"
#include "quant/hadamard.h"
#include "quant/lowbit_bench_weights.h"
#include "quant/packing.h"
#include "vk/commands.h"

using namespace bitlens;

namespace {

kernels::Gpu& gpu() {
  static kernels::Gpu g;
  return g;
}

double device_bandwidth() {
  static const double gbps = kernels::measure_read_bandwidth(gpu()).gbps;
  return gbps;
}

// Best wall time of `fn` over `reps` runs, in seconds.
template <class F>
double best_seconds(int reps, F&& fn) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// Best device time per recording of `body` (recorded `count` times between two timestamps).
template <class F>
double best_device_seconds(int submits, uint32_t count, F&& body) {
  vk::QueryPool q(gpu().ctx(), 2);
  double best = 1e30;
  for (int s = 0; s < submits; ++s) {
    vk::CommandBuffer cmd(gpu().ctx());
    cmd.reset_queries(q, 0, 2);
    cmd.timestamp(q, 0);
    for (uint32_t i = 0; i < count; ++i) {
      body(cmd);
      cmd.barrier();
    }
    cmd.timestamp(q, 1);
    cmd.submit_and_wait();
    const auto ns = q.read_ns(2);
    best = std::min(best, (ns[1] - ns[0]) * 1e-9 / count);
  }
  return best;
}

// Generated weights with the statistics of a trained layer: codes uniform over the grid, scales
// and offsets of a N(0, 0.02) group; floats N(0, 0.02).
struct Weights {
  quant::QuantizedMatrix q;
  std::vector<float> f;
  quant::PackedMatrix packed;
};

Weights make_weights(quant::Format format, uint32_t rows, uint32_t cols) {
  Weights w;
  const auto& info = quant::format_info(format);
  std::vector<uint64_t> seeds(rows);
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

void bm_matmul(benchmark::State& state, quant::Format format, uint32_t rows, uint32_t cols, uint32_t batch) {
  const Weights w = make_weights(format, rows, cols);
  kernels::GpuMatrix gw(gpu(), w.packed);
  const uint32_t stride = kernels::activation_stride(cols);
  std::vector<float> x(size_t(batch) * stride, 0.0f);
  std::mt19937 rng(5);
  std::normal_distribution<float> nd;
  for (auto& v : x) v = nd(rng);
  vk::Buffer xb(gpu().ctx(), std::max<size_t>(x.size() * 4, 65536)), yb(gpu().ctx(), size_t(batch) * rows * 4);
  xb.upload(x.data(), x.size() * 4);
  kernels::MatMul mm(gpu(), gw, xb, yb);
  auto body = [&](vk::CommandBuffer& cmd) { mm.record(cmd, {batch, 0, stride}); };

  // Warm up (first dispatch compiles the kernel on some drivers), then size the repetition count.
  const double once = best_device_seconds(1, 1, body);
  const uint32_t count = uint32_t(std::clamp(0.02 / std::max(once, 1e-6), 1.0, 200.0));

  // The CPU loop on the same product.
  std::vector<float> xc(size_t(batch) * cols), yc(size_t(batch) * rows);
  for (uint32_t t = 0; t < batch; ++t) std::copy_n(&x[size_t(t) * stride], cols, &xc[size_t(t) * cols]);
  const bool grouped = quant::format_info(format).grouped;
  const std::vector<float> wf = grouped ? std::vector<float>{} : w.f.empty() ? quant::dequantize(w.packed) : w.f;
  const double cpu = best_seconds(3, [&] {
    if (grouped) quant::cpu_matmul(w.q, xc, batch, yc);
    else quant::cpu_matmul(wf, rows, cols, xc, batch, yc);
  });

  double device = 0;
  for (auto _ : state) {
    device = best_device_seconds(5, count, body);
    state.SetIterationTime(device);
  }
  const double gbps = double(gw.bytes()) / device * 1e-9;
  state.counters["bpw"] = gw.layout().bpw();
  state.counters["GB/s"] = gbps;
  state.counters["bw_frac"] = gbps / device_bandwidth();
  state.counters["GFLOP/s"] = 2.0 * rows * cols * batch / device * 1e-9;
  state.counters["vs_cpu"] = cpu / device;
}

void bm_rotate(benchmark::State& state, uint32_t n, uint32_t rows) {
  kernels::Rotation rot(gpu(), n, quant::random_sign_bits(n, 1));
  vk::Buffer a(gpu().ctx(), size_t(rows) * n * 4), b(gpu().ctx(), size_t(rows) * n * 4);
  a.fill(0x3f800000u);
  rot.bind(a);
  const auto& copy = gpu().kernel("copy", {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER},
                                  sizeof(kernels::RotateParams), {64});
  vk::DescriptorSet set(gpu().ctx(), copy, {vk::Binding::storage(a), vk::Binding::storage(b)});
  kernels::RotateParams cp{n, 1, 0, rows, 0, n, 1.0f, 0};
  auto copy_body = [&](vk::CommandBuffer& cmd) { cmd.dispatch(copy, set, cp, rows); };
  auto rot_body = [&](vk::CommandBuffer& cmd) { rot.record(cmd, rows); };
  best_device_seconds(1, 1, copy_body);
  best_device_seconds(1, 1, rot_body);
  double device = 0, copy_time = 0;
  for (auto _ : state) {
    copy_time = best_device_seconds(5, 10, copy_body);
    device = best_device_seconds(5, 10, rot_body);
    state.SetIterationTime(device);
  }
  const double bytes = 2.0 * rows * n * 4;  // read and write
  state.counters["GB/s"] = bytes / device * 1e-9;
  state.counters["copy_GB/s"] = bytes / copy_time * 1e-9;
  state.counters["vs_copy"] = copy_time / device;
}

void register_all() {
  struct Shape {
    const char* what;
    uint32_t rows, cols;
  };
  const Shape shapes[] = {{"llama7b_qkvo", 4096, 4096}, {"llama7b_up", 11008, 4096}, {"llama7b_down", 4096, 11008},
                          {"stories_attn", 288, 288},   {"stories_up", 768, 288},    {"stories_down", 288, 768},
                          {"stories_cls", 32000, 288}};
  for (uint32_t batch : {1u, 64u})
    for (const auto& s : shapes)
      for (const auto& f : quant::all_formats()) {
        const std::string name = std::string("matmul/") + s.what + "/" + std::to_string(s.rows) + "x" +
                                 std::to_string(s.cols) + "/" + f.name + "/batch" + std::to_string(batch);
        benchmark::RegisterBenchmark(name.c_str(), bm_matmul, f.format, s.rows, s.cols, batch)
            ->UseManualTime()
            ->Iterations(1)
            ->Unit(benchmark::kMicrosecond);
      }
  for (uint32_t n : {4096u, 288u, 768u}) {
    const std::string name = "rotate/" + std::to_string(n) + "/rows512";
    benchmark::RegisterBenchmark(name.c_str(), bm_rotate, n, 512u)->UseManualTime()->Iterations(1)->Unit(
        benchmark::kMicrosecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  register_all();
  benchmark::AddCustomContext("device", gpu().ctx().describe());
  char bw[64];
  std::snprintf(bw, sizeof(bw), "%.2f GB/s", device_bandwidth());
  benchmark::AddCustomContext("device read bandwidth", bw);
  benchmark::AddCustomContext("cpu threads", std::to_string(cpu_threads()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
