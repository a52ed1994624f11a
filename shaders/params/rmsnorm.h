// Push constants of RMSNorm (shared by C++ and GLSL).
#ifndef BITLENS_PARAMS_RMSNORM_H
#define BITLENS_PARAMS_RMSNORM_H

#ifdef __cplusplus
#include <cstdint>
namespace bitlens::kernels {
using uint = uint32_t;
#endif

// For each of n rows: out = x / sqrt(mean(x^2) + eps) * w. Offsets and strides are in floats and
// multiples of 4.
struct RmsNormParams {
  uint width;       // floats per row
  uint n;           // rows
  uint x_offset;
  uint x_stride;
  uint out_offset;
  uint out_stride;
  uint w_offset;    // first float of the weight vector
  float eps;
};

#ifdef __cplusplus
static_assert(sizeof(RmsNormParams) == 32);
}  // namespace bitlens::kernels
#endif

#endif
