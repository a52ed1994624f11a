// Packed matrix product on the device: y[t] = W_hat x[t] (or y[t] += ...) for a batch of tokens.
// Batch 1 runs the mat-vec kernel (decode); larger batches run the tiled mat-mul kernel.
// Activations are float rows whose offset and stride are multiples of 4 floats.
#pragma once

#include <cstdint>

#include "kernels/gpu.h"
#include "kernels/gpu_matrix.h"
#include "vk/buffer.h"
#include "vk/commands.h"

namespace bitlens::kernels {

struct MatMulArgs {
  uint32_t batch = 1;
  uint32_t x_offset = 0;  // floats, multiple of 4
  uint32_t x_stride = 0;  // floats between tokens, multiple of 4; 0 = cols rounded up to 4
  uint32_t y_offset = 0;
  uint32_t y_stride = 0;  // 0 = rows
  bool accumulate = false;
};

// Work split of the kernels; zeros pick the defaults for the device. For benchmarks that compare
// variants and for tests that cover every path.
struct MatMulTuning {
  // Mat-vec (batch 1).
  uint32_t local = 0;                 // invocations per workgroup (CPU strategy)
  uint32_t tiles_per_invocation = 0;  // CPU strategy
  uint32_t subgroups_per_tile = 0;    // GPU strategy: subgroups that split K for one tile
  bool lookup_tables = true;          // CPU strategy, Q2 and Q3: decode through subgroup lookup tables
  // Mat-mul (batch > 1).
  uint32_t batch_tokens = 0;          // tokens per invocation
  uint32_t batch_tiles = 0;           // tiles per invocation
  // Mat-vec, CPU strategy: load one vec4 of x per lane and share it through subgroup shuffles
  // (where the device has them) instead of every lane loading the whole chunk.
  bool shuffled_x = true;
};

// Floats between tokens in an activation buffer of width `cols` (cols rounded up to 4).
inline uint32_t activation_stride(uint32_t cols) { return (cols + 3) / 4 * 4; }

class MatMul {
 public:
  // Binds W, x and y; x and y are float buffers that outlive this object.
  MatMul(Gpu& gpu, const GpuMatrix& w, const vk::Buffer& x, const vk::Buffer& y, const MatMulTuning& tuning = {});
  void record(vk::CommandBuffer& cmd, const MatMulArgs& args) const;

 private:
  Gpu* gpu_;
  const GpuMatrix* w_;
  const vk::Buffer* x_;
  const vk::Buffer* y_;
  bool x_uniform_ = false;      // mat-vec reads x through a uniform buffer (CPU strategy)
  uint32_t matvec_tiles_ = 1;   // tiles per workgroup
  uint32_t matmul_tokens_ = 1;  // tokens per mat-mul invocation
  uint32_t matmul_tiles_ = 1;   // tiles per mat-mul workgroup
  const vk::Kernel* matvec_ = nullptr;
  const vk::Kernel* matmul_ = nullptr;
  vk::BufferView x_view_;        // x as vec4 texels (mat-mul kernel)
  uint64_t x_view_floats_ = 0;
  vk::DescriptorSet matvec_set_, matmul_set_;
};

}  // namespace bitlens::kernels
