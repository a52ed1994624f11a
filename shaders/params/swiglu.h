// Push constants of the SwiGLU product (shared by C++ and GLSL).
#ifndef BITLENS_PARAMS_SWIGLU_H
#define BITLENS_PARAMS_SWIGLU_H

#ifdef __cplusplus
#include <cstdint>
namespace bitlens::kernels {
using uint = uint32_t;
#endif

// gate[t][i] = silu(gate[t][i]) * up[t][i] in place, for t < n, i < width.
struct SwiGluParams {
  uint width;
  uint n;
  uint gate_offset;  // first float of the gate of token 0
  uint up_offset;    // first float of the up projection of token 0
  uint stride;       // floats between tokens
};

#ifdef __cplusplus
static_assert(sizeof(SwiGluParams) == 20);
}  // namespace bitlens::kernels
#endif

#endif
