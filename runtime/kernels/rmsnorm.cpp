// Argument checks and dispatch of the RMSNorm kernel.
#include "kernels/rmsnorm.h"

#include <string>

#include "common/error.h"
#include "kernels/matmul.h"
#include "params/rmsnorm.h"

namespace bitlens::kernels {

namespace {
constexpr uint32_t kMaxWidth = 8192;  // 64 invocations x MAX_VEC4_PER_LANE (32) vec4s in rmsnorm.comp
constexpr uint32_t kLocal = 64;       // invocations per workgroup
}

RmsNorm::RmsNorm(Gpu& gpu, uint32_t width, float eps, const vk::Buffer& x, const vk::Buffer& weights,
                 const vk::Buffer& out)
    : width_(width), eps_(eps), x_bytes_(x.size()), w_bytes_(weights.size()), out_bytes_(out.size()) {
  if (width == 0 || width > kMaxWidth)
    throw UnsupportedError("rmsnorm of width " + std::to_string(width) + ": the kernel supports 1.." +
                           std::to_string(kMaxWidth));
  const auto texel = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
  const auto storage = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
  row_per_invocation_ = gpu.strategy() == Strategy::TilePerInvocation;
  kernel_ = &gpu.kernel(row_per_invocation_ ? "rmsnorm_rows" : "rmsnorm", {texel, texel, storage},
                        sizeof(RmsNormParams));
  x_texels_ = vk::BufferView(gpu.ctx(), x, VK_FORMAT_R32G32B32A32_SFLOAT);
  w_texels_ = vk::BufferView(gpu.ctx(), weights, VK_FORMAT_R32G32B32A32_SFLOAT);
  set_ = vk::DescriptorSet(gpu.ctx(), *kernel_,
                           {vk::Binding::texel(x_texels_), vk::Binding::texel(w_texels_), vk::Binding::storage(out)});
}

void RmsNorm::record(vk::CommandBuffer& cmd, const RmsNormArgs& a) const {
  if (a.n == 0) return;
  const uint32_t row = activation_stride(width_);
  RmsNormParams p{width_,       a.n,          a.x_offset, a.x_stride ? a.x_stride : row, a.out_offset,
                  a.out_stride ? a.out_stride : row, a.w_offset, eps_};
  if ((p.x_offset | p.x_stride | p.out_offset | p.out_stride | p.w_offset) % 4)
    throw Error("rmsnorm: offsets and strides must be multiples of 4 floats");
  auto need = [&](uint32_t offset, uint32_t stride) { return (uint64_t(offset) + uint64_t(a.n - 1) * stride + row) * 4; };
  if (need(p.x_offset, p.x_stride) > x_bytes_ || need(p.out_offset, p.out_stride) > out_bytes_ ||
      (uint64_t(p.w_offset) + row) * 4 > w_bytes_)
    throw Error("rmsnorm: a buffer is too small for " + std::to_string(a.n) + " rows of width " + std::to_string(width_));
  cmd.dispatch(*kernel_, set_, p, row_per_invocation_ ? (a.n + kLocal - 1) / kLocal : a.n);
}

}  // namespace bitlens::kernels
