// Argument checks and dispatch of the SwiGLU kernel.
#include "kernels/swiglu.h"

#include <algorithm>
#include <string>

#include "common/error.h"
#include "params/swiglu.h"

namespace bitlens::kernels {

SwiGlu::SwiGlu(Gpu& gpu, uint32_t width, const vk::Buffer& h) : width_(width), bytes_(h.size()) {
  const auto texel = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
  const auto storage = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
  kernel_ = &gpu.kernel("swiglu", {texel, storage}, sizeof(SwiGluParams));
  texels_ = vk::BufferView(gpu.ctx(), h, VK_FORMAT_R32_SFLOAT);
  set_ = vk::DescriptorSet(gpu.ctx(), *kernel_, {vk::Binding::texel(texels_), vk::Binding::storage(h)});
}

void SwiGlu::record(vk::CommandBuffer& cmd, const SwiGluArgs& a) const {
  if (a.n == 0) return;
  const uint32_t gap = a.gate_offset > a.up_offset ? a.gate_offset - a.up_offset : a.up_offset - a.gate_offset;
  if (gap < width_ || (a.n > 1 && a.stride < std::max(a.gate_offset, a.up_offset) + width_ - std::min(a.gate_offset, a.up_offset)))
    throw Error("swiglu: gate and up rows overlap");
  const uint64_t last = uint64_t(a.n - 1) * a.stride + width_;
  if ((std::max(a.gate_offset, a.up_offset) + last) * 4 > bytes_)
    throw Error("swiglu: the buffer is too small for " + std::to_string(a.n) + " rows");
  SwiGluParams p{width_, a.n, a.gate_offset, a.up_offset, a.stride};
  cmd.dispatch(*kernel_, set_, p, (width_ + 63) / 64, a.n);
}

}  // namespace bitlens::kernels
