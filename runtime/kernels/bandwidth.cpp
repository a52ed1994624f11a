// The buffer-sum probes behind measure_read_bandwidth.
#include "kernels/bandwidth.h"

#include <algorithm>

#include "common/error.h"
#include "params/bandwidth.h"
#include "vk/buffer.h"
#include "vk/commands.h"

namespace bitlens::kernels {

std::string BandwidthPattern::describe() const {
  return shader + "/local" + std::to_string(local) + "/unroll" + std::to_string(unroll) + "/per" +
         std::to_string(per_invocation);
}

std::vector<BandwidthPattern> bandwidth_patterns(const Gpu& gpu) {
  // One SIMD batch per workgroup on CPU drivers (lavapipe runs a subgroup of 8 as one AVX2 vector).
  const uint32_t sg = std::max(1u, gpu.caps().subgroup_size);
  return {
      {"bw_strided", 256, 4, 16},     // coalesced grid-stride reads: the usual GPU optimum
      {"bw_wg_block", 256, 8, 16},    // coalesced, each workgroup on its own run
      {"bw_wg_block", sg, 16, 1024},  // the lavapipe optimum: long runs, many texels per iteration
      {"bw_block", sg, 32, 1024},
  };
}

BandwidthResult measure_read_bandwidth(Gpu& gpu, const BandwidthPattern& pat, uint64_t bytes, int repetitions) {
  const auto& caps = gpu.caps();
  if (pat.local == 0 || pat.unroll == 0 || pat.per_invocation % pat.unroll != 0)
    throw Error("bandwidth pattern " + pat.describe() + ": per_invocation must be a multiple of unroll");
  const bool ssbo = pat.shader.ends_with("_ssbo");
  bytes = std::min<uint64_t>(bytes, ssbo ? caps.max_storage_range : caps.max_texel_elements * 16);
  if (caps.max_allocation) bytes = std::min<uint64_t>(bytes, caps.max_allocation / 2);
  const uint64_t per_group = uint64_t(pat.local) * pat.per_invocation * 16;
  const uint64_t groups = std::min<uint64_t>(bytes / per_group, caps.max_workgroup_count_x);
  if (groups == 0) throw Error("bandwidth pattern " + pat.describe() + " reads more than the probe buffer");
  bytes = groups * per_group;
  vk::Buffer src(gpu.ctx(), bytes);
  src.fill(0x01010101u);
  vk::BufferView view;
  if (!ssbo) view = vk::BufferView(gpu.ctx(), src, VK_FORMAT_R32G32B32A32_UINT);
  vk::Buffer out(gpu.ctx(), groups * pat.local * 4);
  const auto src_type = ssbo ? VK_DESCRIPTOR_TYPE_STORAGE_BUFFER : VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
  const auto& k = gpu.kernel(pat.shader, {src_type, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER}, sizeof(BandwidthParams),
                             {pat.local, pat.unroll});
  vk::DescriptorSet set(gpu.ctx(), k,
                        {ssbo ? vk::Binding::storage(src) : vk::Binding::texel(view), vk::Binding::storage(out)});
  BandwidthParams p{uint32_t(bytes / 16), pat.per_invocation};
  vk::QueryPool q(gpu.ctx(), 2);
  double best = 0;
  for (int r = 0; r < repetitions; ++r) {
    vk::CommandBuffer cmd(gpu.ctx());
    cmd.reset_queries(q, 0, 2);
    cmd.timestamp(q, 0);
    cmd.dispatch(k, set, p, uint32_t(groups));
    cmd.timestamp(q, 1);
    cmd.submit_and_wait();
    const auto ns = q.read_ns(2);
    if (ns[1] > ns[0]) best = std::max(best, double(bytes) / (ns[1] - ns[0]));
  }
  return {best, bytes, pat.describe()};
}

BandwidthResult measure_read_bandwidth(Gpu& gpu, uint64_t bytes, int repetitions) {
  BandwidthResult best;
  for (const auto& pat : bandwidth_patterns(gpu)) {
    const BandwidthResult r = measure_read_bandwidth(gpu, pat, bytes, repetitions);
    if (r.gbps > best.gbps) best = r;
  }
  return best;
}

}  // namespace bitlens::kernels
