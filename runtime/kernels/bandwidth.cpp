// The texel-sum probe behind measure_read_bandwidth.
#include "kernels/bandwidth.h"

#include <algorithm>

#include "params/bandwidth.h"
#include "vk/buffer.h"
#include "vk/commands.h"

namespace bitlens::kernels {

BandwidthResult measure_read_bandwidth(Gpu& gpu, uint64_t bytes, int repetitions) {
  const auto& caps = gpu.caps();
  bytes = std::min<uint64_t>(bytes, caps.max_texel_elements * 16);
  bytes = std::min<uint64_t>(bytes, caps.max_allocation ? caps.max_allocation / 2 : bytes) / 16 * 16;
  vk::Buffer src(gpu.ctx(), bytes);
  src.fill(0x01010101u);
  vk::BufferView view(gpu.ctx(), src, VK_FORMAT_R32G32B32A32_UINT);
  constexpr uint32_t kLocal = 64, kPerInvocation = 64;
  BandwidthParams p{uint32_t(bytes / 16), kPerInvocation};
  const uint32_t invocations = (p.texels + kPerInvocation - 1) / kPerInvocation;
  const uint32_t groups = (invocations + kLocal - 1) / kLocal;
  vk::Buffer out(gpu.ctx(), uint64_t(groups) * kLocal * 4);
  const auto& k = gpu.kernel("bandwidth", {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER},
                             sizeof(BandwidthParams), {kLocal});
  vk::DescriptorSet set(gpu.ctx(), k, {vk::Binding::texel(view), vk::Binding::storage(out)});
  vk::QueryPool q(gpu.ctx(), 2);
  double best = 0;
  for (int r = 0; r < repetitions; ++r) {
    vk::CommandBuffer cmd(gpu.ctx());
    cmd.reset_queries(q, 0, 2);
    cmd.timestamp(q, 0);
    cmd.dispatch(k, set, p, groups);
    cmd.timestamp(q, 1);
    cmd.submit_and_wait();
    const auto ns = q.read_ns(2);
    if (ns[1] > ns[0]) best = std::max(best, double(bytes) / (ns[1] - ns[0]));
  }
  return {best, bytes};
}

}  // namespace bitlens::kernels
