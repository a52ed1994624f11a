// SwiGLU product on the device, in place: gate = silu(gate) * up for each token's row
// (shaders/swiglu.comp). Gate and up may sit side by side in one buffer (a fused W1/W3 output).
#pragma once

#include <cstdint>

#include "kernels/gpu.h"
#include "vk/buffer.h"
#include "vk/commands.h"

namespace bitlens::kernels {

struct SwiGluArgs {
  uint32_t n = 1;
  uint32_t gate_offset = 0;  // floats
  uint32_t up_offset = 0;
  uint32_t stride = 0;       // floats between tokens
};

class SwiGlu {
 public:
  // Binds the float buffer holding gate and up, for rows of `width` floats.
  SwiGlu(Gpu& gpu, uint32_t width, const vk::Buffer& h);
  void record(vk::CommandBuffer& cmd, const SwiGluArgs& args) const;

 private:
  const vk::Kernel* kernel_;
  uint32_t width_;
  uint64_t bytes_;
  vk::BufferView texels_;
  vk::DescriptorSet set_;
};

}  // namespace bitlens::kernels
