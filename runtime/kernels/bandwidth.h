// Measures the device's own read bandwidth (a large uvec4 texel-buffer sum, the fastest read
// path on every device we know), the reference every kernel's speed is reported against.
#pragma once

#include <cstdint>

#include "kernels/gpu.h"

namespace bitlens::kernels {

struct BandwidthResult {
  double gbps;       // best of the repetitions
  uint64_t bytes;    // bytes read per repetition
};

BandwidthResult measure_read_bandwidth(Gpu& gpu, uint64_t bytes = 256ull << 20, int repetitions = 7);

}  // namespace bitlens::kernels
