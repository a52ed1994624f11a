// Hadamard rotation benchmarks: 512 rows of widths 4096, 288 and 768, forward and inverse, against a
// plain copy of the same rows (copy.comp: texel reads, storage writes) and vkCmdCopyBuffer,
// measured in alternation in the same run.
#include <benchmark/benchmark.h>

#include <string>

#include "bench_util.h"
#include "kernels/rotate.h"
#include "params/rotate.h"
#include "quant/hadamard.h"

namespace bitlens::bench {

namespace {

using Direction = kernels::Rotation::Direction;

void bm_rotate(benchmark::State& state, uint32_t n, uint32_t rows, kernels::Strategy strategy, Direction direction) {
  const kernels::Strategy saved = gpu().strategy();
  gpu().set_strategy(strategy);
  kernels::Rotation rot(gpu(), n, quant::random_sign_bits(n, 1), direction);
  gpu().set_strategy(saved);
  vk::Buffer a(gpu().ctx(), size_t(rows) * n * 4), b(gpu().ctx(), size_t(rows) * n * 4);
  a.fill(0x3f800000u);
  rot.bind(a);
  const auto& copy = gpu().kernel("copy", {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER},
                                  sizeof(kernels::RotateParams), {64});
  vk::BufferView av(gpu().ctx(), a, VK_FORMAT_R32G32B32A32_SFLOAT);
  vk::DescriptorSet set(gpu().ctx(), copy, {vk::Binding::texel(av), vk::Binding::storage(b)});
  const kernels::RotateParams cp{n, 1, 0, rows, 0, n, 1.0f, 0, 0};
  auto copy_body = [&](vk::CommandBuffer& cmd) { cmd.dispatch(copy, set, cp, rows); };
  auto cmd_copy_body = [&](vk::CommandBuffer& cmd) { cmd.copy(a, b, uint64_t(rows) * n * 4); };
  auto rot_body = [&](vk::CommandBuffer& cmd) { rot.record(cmd, rows); };
  best_timing(1, 1, copy_body);
  const uint32_t count = repetitions_for(best_timing(1, 1, rot_body).device, 0.02, 50);
  Timing rot_t, copy_t, cmd_copy_t;
  for (auto _ : state) {
    for (int round = 0; round < 3; ++round) {
      copy_t.merge(best_timing(3, count, copy_body));
      cmd_copy_t.merge(best_timing(3, count, cmd_copy_body));
      rot_t.merge(best_timing(3, count, rot_body));
    }
    state.SetIterationTime(rot_t.device);
  }
  const double bytes = 2.0 * rows * n * 4;  // read and write
  state.counters["GB/s"] = bytes / rot_t.device * 1e-9;
  state.counters["copy_GB/s"] = bytes / copy_t.device * 1e-9;
  state.counters["vs_copy"] = copy_t.device / rot_t.device;
  state.counters["cmdcopy_GB/s"] = bytes / cmd_copy_t.device * 1e-9;
  state.counters["cpu_ms"] = rot_t.cpu * 1e3;
  state.counters["copy_cpu_ms"] = copy_t.cpu * 1e3;
  state.counters["row_kernel"] = rot.uses_row_kernel(0, n) ? 1 : 0;
}

}  // namespace

void register_rotate_benchmarks() {
  using S = kernels::Strategy;
  const S native = gpu().strategy();
  const S other = native == S::TilePerInvocation ? S::TilePerSubgroup : S::TilePerInvocation;
  for (uint32_t n : {4096u, 288u, 768u})
    for (auto [strategy, direction] : {std::pair{native, Direction::Forward}, std::pair{native, Direction::Inverse},
                                       std::pair{other, Direction::Forward}}) {
      const std::string name = "rotate/" + std::to_string(n) + "/rows512/" +
                               (direction == Direction::Forward ? "forward" : "inverse") + "/" +
                               (strategy == S::TilePerInvocation ? "cpu_strategy" : "gpu_strategy");
      benchmark::RegisterBenchmark(name.c_str(), bm_rotate, n, 512u, strategy, direction)
          ->UseManualTime()
          ->Iterations(1)
          ->Unit(benchmark::kMicrosecond);
    }
}

}  // namespace bitlens::bench
