// Kernel benchmarks (Google Benchmark): packed mat-vec / mat-mul for the LLaMA-7B layer shapes and
// the bundled model's shapes, every format, batch 1 and 64; the Hadamard rotation against a plain
// copy; the read-bandwidth probe's access patterns; and the mat-vec work splits compared in one
// run. Each figure is the best of several timestamped submissions, reported with effective GB/s,
// its fraction of the device's read bandwidth measured in the same run (bw_frac), the speed
// relative to a plain multi-threaded C++ loop doing the same product (vs_cpu = cpu loop time /
// device time), and the process CPU time per call (cpu_ms: the work, on a CPU driver).
//
//   ./build/bench/bitlens_bench --benchmark_counters_tabular=true [--benchmark_filter=4096x4096]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "bench_util.h"
#include "common/parallel.h"

int main(int argc, char** argv) {
  using namespace bitlens::bench;
  benchmark::Initialize(&argc, argv);
  register_matmul_benchmarks();
  register_rotate_benchmarks();
  register_bandwidth_benchmarks();
  benchmark::AddCustomContext("device", gpu().ctx().describe());
  char bw[64];
  std::snprintf(bw, sizeof(bw), "%.2f GB/s", device_bandwidth().gbps);
  benchmark::AddCustomContext("device read bandwidth at start", bw);
  benchmark::AddCustomContext("bandwidth pattern", device_bandwidth().pattern);
  benchmark::AddCustomContext("cpu threads", std::to_string(bitlens::cpu_threads()));
  benchmark::RunSpecifiedBenchmarks();
  std::printf("device read bandwidth, best over the run: %.2f GB/s (%s)\n", device_bandwidth().gbps,
              device_bandwidth().pattern.c_str());
  benchmark::Shutdown();
  return 0;
}
