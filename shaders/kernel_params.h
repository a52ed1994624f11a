// Push-constant blocks shared by the C++ host code and the GLSL kernels (included by both), so
// that their layouts cannot drift apart. Only 32-bit scalars: std430 and C++ agree on them.
#ifndef BITLENS_KERNEL_PARAMS_H
#define BITLENS_KERNEL_PARAMS_H

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
};

// Randomized Hadamard rotation of `rows` rows of width n = m * 2^k, in place.
struct RotateParams {
  uint n;          // row width
  uint m;          // odd Hadamard factor: 1, 12, 20, 28 or 36
  uint log2_p;     // k, with p = 2^k
  uint rows;       // rows to rotate
  uint offset;     // first float of row 0
  uint stride;     // floats between rows
  float scale;     // 1 / sqrt(n)
  uint use_signs;  // 1: multiply by the random sign vector first
};

// Read-bandwidth probe: sums `texels` uvec4 texels.
struct BandwidthParams {
  uint texels;
  uint per_invocation;  // texels each invocation reads
};

#ifdef __cplusplus
static_assert(sizeof(MatMulParams) == 48);
static_assert(sizeof(RotateParams) == 32);
static_assert(sizeof(BandwidthParams) == 8);
}  // namespace bitlens::kernels
#endif

#endif
