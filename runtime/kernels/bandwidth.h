// Measures the device's own read bandwidth, the reference every kernel's speed is reported
// against: a large buffer is summed with several access patterns (bandwidth.comp) and the fastest
// counts, since the best pattern differs between GPUs (coalesced texel reads) and CPU drivers
// such as lavapipe (few wide loads per invocation).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/gpu.h"

namespace bitlens::kernels {

// One access pattern of the probe: a bandwidth.comp variant, its workgroup size, texels per loop
// iteration, and texels each invocation reads.
struct BandwidthPattern {
  std::string shader;  // "bw_strided", "bw_block", ...
  uint32_t local = 64;
  uint32_t unroll = 4;
  uint32_t per_invocation = 64;
  std::string describe() const;  // "bw_block/local64/unroll4/per64"
};

struct BandwidthResult {
  double gbps = 0;         // best of the repetitions of the best pattern
  uint64_t bytes = 0;      // bytes read per repetition
  std::string pattern;     // the pattern that reached it
};

// The patterns measure_read_bandwidth tries on this device.
std::vector<BandwidthPattern> bandwidth_patterns(const Gpu& gpu);

// Best GB/s of one pattern over `repetitions` timestamped dispatches reading `bytes`.
BandwidthResult measure_read_bandwidth(Gpu& gpu, const BandwidthPattern& pattern, uint64_t bytes = 256ull << 20,
                                       int repetitions = 7);
// The best over bandwidth_patterns(gpu).
BandwidthResult measure_read_bandwidth(Gpu& gpu, uint64_t bytes = 256ull << 20, int repetitions = 7);

}  // namespace bitlens::kernels
