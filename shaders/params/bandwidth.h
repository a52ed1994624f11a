// Push constants of the read-bandwidth probe (shared by C++ and GLSL).
#ifndef BITLENS_PARAMS_BANDWIDTH_H
#define BITLENS_PARAMS_BANDWIDTH_H

#ifdef __cplusplus
#include <cstdint>
namespace bitlens::kernels {
using uint = uint32_t;
#endif

// Read-bandwidth probe: sums `texels` uvec4 texels.
struct BandwidthParams {
  uint texels;
  uint per_invocation;  // texels each invocation reads
};


#ifdef __cplusplus
static_assert(sizeof(BandwidthParams) == 8);
}  // namespace bitlens::kernels
#endif

#endif
