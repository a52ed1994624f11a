// Shared pieces of the kernel benchmarks: the device, timing of recorded command buffers (device
// time from timestamps, and the CPU time the process spends, which on a CPU driver is the work a
// kernel costs even when other processes compete for the cores), and the device's read bandwidth
// measured in the same run.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>

#include "kernels/bandwidth.h"
#include "kernels/gpu.h"
#include "vk/commands.h"

namespace bitlens::bench {

kernels::Gpu& gpu();

struct Timing {
  double device = 1e30;  // best device time per recording, seconds
  double cpu = 1e30;     // best process CPU time per recording, seconds
  void merge(const Timing& o) {
    device = std::min(device, o.device);
    cpu = std::min(cpu, o.cpu);
  }
};

// Best times per recording of `body`, recorded `count` times (with barriers) between two
// timestamps, over `submits` submissions.
Timing best_timing(int submits, uint32_t count, const std::function<void(vk::CommandBuffer&)>& body);
// Recordings per submission so that one submission takes about `seconds`, from a first timing.
uint32_t repetitions_for(double once_seconds, double seconds = 0.02, uint32_t most = 200);
// Best wall time of fn over `reps` runs, in seconds.
double best_seconds(int reps, const std::function<void()>& fn);

// The device's read bandwidth: the best of all probe patterns at start-up, then re-measured with
// the best pattern whenever refresh_bandwidth() is called, keeping the maximum (a busy machine
// would otherwise give a low reference that flatters every ratio).
const kernels::BandwidthResult& device_bandwidth();
double refresh_bandwidth();

void register_matmul_benchmarks();
void register_rotate_benchmarks();
void register_bandwidth_benchmarks();

}  // namespace bitlens::bench
