// Allocation of the per-layer key/value buffers and their texel views.
#include "kernels/kv_cache.h"

#include <string>

#include "common/error.h"

namespace bitlens::kernels {

void validate(const HeadShape& s) {
  const std::string what = "attention with " + std::to_string(s.n_heads) + " heads (" + std::to_string(s.n_kv_heads) +
                           " kv) of width " + std::to_string(s.head_dim);
  if (s.n_heads == 0 || s.n_kv_heads == 0 || s.head_dim == 0) throw UnsupportedError(what + ": empty shape");
  if (s.n_heads % s.n_kv_heads != 0) throw UnsupportedError(what + ": the kv heads must divide the query heads");
  if (s.head_dim % 2 != 0) throw UnsupportedError(what + ": rotary embedding needs an even head width");
  if (s.head_dim > 256) throw UnsupportedError(what + ": the kernels support head widths up to 256");
}

const char* kv_precision_name(KvPrecision p) { return p == KvPrecision::F16 ? "f16" : "f32"; }

KvPrecision parse_kv_precision(const std::string& name) {
  for (KvPrecision p : {KvPrecision::F32, KvPrecision::F16})
    if (name == kv_precision_name(p)) return p;
  throw Error("unknown KV-cache precision '" + name + "' (choose f32 or f16)");
}

KvCache::KvCache(Gpu& gpu, const HeadShape& shape, uint32_t seq_len, uint32_t n_layers, KvPrecision precision)
    : shape_(shape), precision_(precision), seq_len_(seq_len) {
  validate(shape);
  if (seq_len == 0) throw UnsupportedError("KV cache with no positions");
  const uint64_t bytes = uint64_t(seq_len) * row_bytes();
  if (bytes > gpu.caps().max_storage_range || bytes / 16 > gpu.caps().max_texel_elements)
    throw UnsupportedError("a KV cache layer of " + std::to_string(bytes) + " bytes (" + std::to_string(seq_len) +
                           " positions) exceeds this device's buffer-range limits");
  layers_.resize(n_layers);
  for (Layer& l : layers_) {
    l.keys = vk::Buffer(gpu.ctx(), bytes);
    l.values = vk::Buffer(gpu.ctx(), bytes);
    const VkFormat texel = precision == KvPrecision::F16 ? VK_FORMAT_R32G32B32A32_UINT : VK_FORMAT_R32G32B32A32_SFLOAT;
    l.key_texels = vk::BufferView(gpu.ctx(), l.keys, texel);
    l.value_texels = vk::BufferView(gpu.ctx(), l.values, texel);
  }
}

uint32_t KvCache::head_elements() const {
  return precision_ == KvPrecision::F16 ? (shape_.head_dim + 7) / 8 * 8 : shape_.head_vec4s() * 4;
}

uint64_t KvCache::row_bytes() const {
  return uint64_t(shape_.n_kv_heads) * head_elements() * (precision_ == KvPrecision::F16 ? 2 : 4);
}

uint64_t KvCache::bytes() const { return uint64_t(layers_.size()) * 2 * seq_len_ * row_bytes(); }

}  // namespace bitlens::kernels
