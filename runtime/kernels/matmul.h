// Packed matrix product on the device: y[t] = W_hat x[t] (or y[t] += ...) for a batch of tokens.
// Batch 1 runs the mat-vec kernel (decode); larger batches run the tiled mat-mul kernel.
// Activations are float rows whose offset and stride are multiples of 4 floats.
#pragma once

#include <cstdint>

#include "kernels/gpu.h"
#include "kernels/gpu_matrix.h"
#include "kernels/rotate.h"
#include "vk/buffer.h"
#include "vk/commands.h"

namespace bitlens::kernels {

// What a mat-vec does to x as it loads it (MatMul::transforms_input()): the RMSNorm or the SwiGLU
// product that comes before a layer, so that it needs no dispatch of its own.
struct InputTransform {
  enum class Kind : uint32_t { None = 0, RmsNorm = 1, SwiGlu = 2 };
  Kind kind = Kind::None;
  // RmsNorm: x / sqrt(mean(x^2) + eps) * w, w at float `offset` (a multiple of 4) of the norm
  // weights the MatMul was built with. SwiGlu: silu(x) * u, u at float x_offset + offset of x.
  uint32_t offset = 0;
  float eps = 0.0f;
};

struct MatMulArgs {
  uint32_t batch = 1;
  uint32_t x_offset = 0;  // floats, multiple of 4
  uint32_t x_stride = 0;  // floats between tokens, multiple of 4; 0 = cols rounded up to 4
  uint32_t y_offset = 0;
  uint32_t y_stride = 0;  // 0 = rows
  bool accumulate = false;
  InputTransform input = {};  // batch 1 only, where transforms_input()
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
  // Binds W, x and y (and the RMSNorm weights of InputTransform, if any); the float buffers
  // outlive this object. With `input_rotation` (forward, width cols) the mat-vec rotates x itself
  // after transforming it, where rotates_input() says it can; the rotation outlives this object.
  MatMul(Gpu& gpu, const GpuMatrix& w, const vk::Buffer& x, const vk::Buffer& y, const MatMulTuning& tuning = {},
         const vk::Buffer* norm_weights = nullptr, const Rotation* input_rotation = nullptr);
  void record(vk::CommandBuffer& cmd, const MatMulArgs& args) const;
  // Whether the mat-vec applies MatMulArgs::input (the CPU strategy's shuffled-x kernels).
  bool transforms_input() const { return transforms_input_; }
  // Whether the mat-vec applies the input rotation it was built with (batch 1 only).
  bool rotates_input() const { return rotates_input_; }
  // Bytes from the start of x that a mat-vec can read (the uniform-buffer range on the CPU strategy).
  uint64_t uniform_x_bytes() const;

 private:
  Gpu* gpu_;
  const GpuMatrix* w_;
  const vk::Buffer* x_;
  const vk::Buffer* y_;
  bool x_uniform_ = false;      // mat-vec reads x through a uniform buffer (CPU strategy)
  bool transforms_input_ = false;
  bool rotates_input_ = false;
  const vk::Buffer* norm_weights_ = nullptr;
  vk::BufferView norm_view_;     // the norm weights (or, without them, x) as vec4 texels
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
