// Device, timing and bandwidth helpers of the kernel benchmarks.
#include "bench_util.h"

#include <sys/resource.h>

#include <chrono>

namespace bitlens::bench {

namespace {

// CPU seconds this process has used so far, all threads (lavapipe's workers included).
double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

kernels::BandwidthResult& best_bandwidth() {
  static kernels::BandwidthResult r = kernels::measure_read_bandwidth(gpu(), 256ull << 20, 15);
  return r;
}

}  // namespace

kernels::Gpu& gpu() {
  static kernels::Gpu g;
  return g;
}

Timing best_timing(int submits, uint32_t count, const std::function<void(vk::CommandBuffer&)>& body) {
  vk::QueryPool q(gpu().ctx(), 2);
  Timing best;
  for (int s = 0; s < submits; ++s) {
    vk::CommandBuffer cmd(gpu().ctx());
    cmd.reset_queries(q, 0, 2);
    cmd.timestamp(q, 0);
    for (uint32_t i = 0; i < count; ++i) {
      body(cmd);
      cmd.barrier();
    }
    cmd.timestamp(q, 1);
    const double cpu0 = process_cpu_seconds();
    cmd.submit_and_wait();
    const double cpu1 = process_cpu_seconds();
    const auto ns = q.read_ns(2);
    best.merge({(ns[1] - ns[0]) * 1e-9 / count, (cpu1 - cpu0) / count});
  }
  return best;
}

uint32_t repetitions_for(double once_seconds, double seconds, uint32_t most) {
  return uint32_t(std::clamp(seconds / std::max(once_seconds, 1e-6), 1.0, double(most)));
}

double best_seconds(int reps, const std::function<void()>& fn) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

const kernels::BandwidthResult& device_bandwidth() { return best_bandwidth(); }

double refresh_bandwidth() {
  kernels::BandwidthResult& best = best_bandwidth();
  for (const auto& pat : kernels::bandwidth_patterns(gpu()))
    if (pat.describe() == best.pattern) {
      const kernels::BandwidthResult r = kernels::measure_read_bandwidth(gpu(), pat, 256ull << 20, 5);
      if (r.gbps > best.gbps) best = r;
    }
  return best.gbps;
}

}  // namespace bitlens::bench
