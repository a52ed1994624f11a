// Angle table upload and dispatch of the rotary-embedding kernel.
#include "kernels/rope.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/error.h"
#include "params/rope.h"

namespace bitlens::kernels {

RopeTable::RopeTable(Gpu& gpu, uint32_t head_dim, uint32_t seq_len, float theta)
    : head_dim_(head_dim), seq_len_(seq_len) {
  if (head_dim == 0 || head_dim % 2 || seq_len == 0) throw UnsupportedError("rotary table needs an even head width");
  const uint32_t pairs = head_dim / 2;
  std::vector<float> cs(size_t(seq_len) * pairs * 2);
  for (uint32_t pos = 0; pos < seq_len; ++pos)
    for (uint32_t i = 0; i < pairs; ++i) {
      // The CPU reference's expressions, in fp32: freq = theta^(-2i / head_dim), angle = pos * freq.
      const float freq = 1.0f / std::pow(theta, float(2 * i) / float(head_dim));
      const float val = float(pos) * freq;
      cs[(size_t(pos) * pairs + i) * 2] = std::cos(val);
      cs[(size_t(pos) * pairs + i) * 2 + 1] = std::sin(val);
    }
  buffer_ = vk::Buffer(gpu.ctx(), cs.size() * 4);
  buffer_.upload(cs.data(), cs.size() * 4);
  texels_ = vk::BufferView(gpu.ctx(), buffer_, VK_FORMAT_R32G32_SFLOAT);
}

Rope::Rope(Gpu& gpu, const RopeTable& table, const KvCache& cache, uint32_t layer, const vk::Buffer& qkv,
           const vk::Buffer& step)
    : shape_(cache.shape()), seq_len_(cache.seq_len()), qkv_bytes_(qkv.size()) {
  if (table.head_dim() != shape_.head_dim || table.seq_len() < seq_len_)
    throw Error("rotary table does not match the KV cache (head width or positions)");
  const auto texel = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
  const auto storage = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
  head_quads_ = cache.head_elements() / 4;
  kernel_ = &gpu.kernel(cache.precision() == KvPrecision::F16 ? "rope_f16" : "rope",
                        {texel, texel, storage, storage, storage, storage}, sizeof(RopeParams));
  qkv_pairs_ = vk::BufferView(gpu.ctx(), qkv, VK_FORMAT_R32G32_SFLOAT);
  set_ = vk::DescriptorSet(gpu.ctx(), *kernel_,
                           {vk::Binding::texel(qkv_pairs_), vk::Binding::texel(table.texels()),
                            vk::Binding::storage(step), vk::Binding::storage(qkv),
                            vk::Binding::storage(cache.keys(layer)), vk::Binding::storage(cache.values(layer))});
}

void Rope::record(vk::CommandBuffer& cmd, const RopeArgs& a) const {
  if (a.n == 0) return;
  const uint32_t dim = shape_.n_heads * shape_.head_dim, kv_dim = shape_.n_kv_heads * shape_.head_dim;
  if ((a.q_offset | a.k_offset | a.v_offset | a.stride) % 2)
    throw Error("rope: q/k/v offsets and the token stride must be even");
  const uint64_t last = uint64_t(a.n - 1) * a.stride;
  const uint64_t need = std::max({a.q_offset + last + dim, a.k_offset + last + kv_dim, a.v_offset + last + kv_dim}) * 4;
  if (need > qkv_bytes_) throw Error("rope: the q/k/v buffer is too small for " + std::to_string(a.n) + " tokens");
  RopeParams p{a.n, shape_.n_heads, shape_.n_kv_heads, shape_.head_dim, head_quads_, seq_len_,
               a.q_offset, a.k_offset, a.v_offset, a.stride};
  const uint32_t items = shape_.n_heads * shape_.head_dim / 2 + 2 * shape_.n_kv_heads * head_quads_ * 2;
  cmd.dispatch(*kernel_, set_, p, (items + 63) / 64, a.n);
}

}  // namespace bitlens::kernels
