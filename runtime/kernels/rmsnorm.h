// RMSNorm of activation rows on the device (out = x / sqrt(mean(x^2) + eps) * w), see
// shaders/rmsnorm.comp: a row per invocation on CPU devices (Strategy::TilePerInvocation), a row
// per workgroup on GPUs.
#pragma once

#include <cstdint>

#include "kernels/gpu.h"
#include "vk/buffer.h"
#include "vk/commands.h"

namespace bitlens::kernels {

// Offsets and strides in floats, multiples of 4 (0 strides: the width rounded up to 4).
struct RmsNormArgs {
  uint32_t n = 1;
  uint32_t x_offset = 0, x_stride = 0;
  uint32_t out_offset = 0, out_stride = 0;
  uint32_t w_offset = 0;  // first float of the weight vector in the weight buffer
};

class RmsNorm {
 public:
  // Binds x, the weight buffer and the output buffer, for rows of `width` floats.
  RmsNorm(Gpu& gpu, uint32_t width, float eps, const vk::Buffer& x, const vk::Buffer& weights, const vk::Buffer& out);
  void record(vk::CommandBuffer& cmd, const RmsNormArgs& args) const;

 private:
  const vk::Kernel* kernel_;
  bool row_per_invocation_;
  uint32_t width_;
  float eps_;
  uint64_t x_bytes_, w_bytes_, out_bytes_;
  vk::BufferView x_texels_, w_texels_;
  vk::DescriptorSet set_;
};

}  // namespace bitlens::kernels
