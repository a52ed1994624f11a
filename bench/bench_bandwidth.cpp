// The read-bandwidth probe's access patterns one by one (the device bandwidth every ratio uses is
// the best of kernels::bandwidth_patterns; these show why).
#include <benchmark/benchmark.h>

#include <algorithm>

#include "bench_util.h"

namespace bitlens::bench {

namespace {

void bm_bandwidth(benchmark::State& state, kernels::BandwidthPattern pattern) {
  kernels::BandwidthResult r;
  for (auto _ : state) {
    r = kernels::measure_read_bandwidth(gpu(), pattern, 256ull << 20, 15);
    state.SetIterationTime(double(r.bytes) / (r.gbps * 1e9));
  }
  state.counters["GB/s"] = r.gbps;
}

}  // namespace

void register_bandwidth_benchmarks() {
  const uint32_t sg = std::max(1u, gpu().caps().subgroup_size);
  const kernels::BandwidthPattern patterns[] = {
      {"bw_strided", 256, 4, 16},   {"bw_strided", 64, 1, 64},      {"bw_wg_block", 256, 8, 16},
      {"bw_wg_block", sg, 4, 256},  {"bw_wg_block", sg, 16, 1024},  {"bw_wg_block", sg, 64, 4096},
      {"bw_block", 64, 4, 64},      {"bw_block", sg, 32, 1024},     {"bw_uniform", sg, 8, 1024},
      {"bw_block_ssbo", 64, 4, 64}, {"bw_uniform_ssbo", sg, 8, 1024}};
  for (const auto& pat : patterns)
    benchmark::RegisterBenchmark(("bandwidth/" + pat.describe()).c_str(), bm_bandwidth, pat)
        ->UseManualTime()
        ->Iterations(1)
        ->Unit(benchmark::kMicrosecond);
}

}  // namespace bitlens::bench
