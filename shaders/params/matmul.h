// Push constants of the mat-vec and mat-mul kernels (shared by C++ and GLSL: 32-bit scalars only).
#ifndef BITLENS_PARAMS_MATMUL_H
#define BITLENS_PARAMS_MATMUL_H

#ifdef __cplusplus
#include <cstdint>
namespace bitlens::kernels {
using uint = uint32_t;
#endif

// Quantized or float matrix product y[t][r] = sum_c W[r][c] * x[t][c] for t < batch.
struct MatMulParams {
  uint rows;            // N, output features
  uint cols;            // K, input features
  uint chunks;          // ceil(K / 32)
  uint chunks_per_group;  // group_size / 32 (0 for float formats)
  uint groups;          // ceil(K / group_size) (0 for float formats)
  uint params_texel;    // first uvec4 texel of the group parameters
  uint batch;           // tokens
  uint x_offset;        // first float of x
  uint x_stride;        // floats between tokens of x
  uint y_offset;        // first float of y
  uint y_stride;        // floats between tokens of y
  uint accumulate;      // 1: y += W x instead of y = W x
  // Mat-vec, X_SHUFFLE kernels: x transformed as it is loaded. 0: as is; 1: RMSNorm of the row,
  // x / sqrt(mean(x^2) + eps) * w with w at float x_transform_offset of the norm-weight buffer;
  // 2: SwiGLU, silu(x) * u with u at float x_offset + x_transform_offset of x.
  uint x_transform;
  uint x_transform_offset;
  float eps;
  uint unused;
};


#ifdef __cplusplus
static_assert(sizeof(MatMulParams) == 64);
}  // namespace bitlens::kernels
#endif

#endif
