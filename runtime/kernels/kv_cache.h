// The key/value cache of every layer on the device, and the head geometry the rotary-embedding
// and attention kernels share. Each layer's keys and values are [seq_len][n_kv_heads][head] rows,
// written as storage buffers by Rope (or the fused attention) and read as texel buffers by
// Attention. fp32: heads padded to a multiple of 4 floats, read as vec4 texels; fp16: heads padded
// to a multiple of 8 halves, written as packed pairs and read as uvec4 texels of 8 halves (half the
// bytes and half the texel fetches of fp32).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/gpu.h"
#include "vk/buffer.h"

namespace bitlens::kernels {

struct HeadShape {
  uint32_t n_heads = 0;
  uint32_t n_kv_heads = 0;  // divides n_heads (grouped-query attention when smaller)
  uint32_t head_dim = 0;    // even, at most 256

  uint32_t head_vec4s() const { return (head_dim + 3) / 4; }
  uint32_t cache_row_floats() const { return n_kv_heads * head_vec4s() * 4; }
};

// Throws UnsupportedError if the attention kernels cannot run this shape.
void validate(const HeadShape& shape);

enum class KvPrecision { F32, F16 };
const char* kv_precision_name(KvPrecision p);            // "f32", "f16"
KvPrecision parse_kv_precision(const std::string& name);  // throws Error for other names

class KvCache {
 public:
  KvCache(Gpu& gpu, const HeadShape& shape, uint32_t seq_len, uint32_t n_layers,
          KvPrecision precision = KvPrecision::F32);

  const HeadShape& shape() const { return shape_; }
  KvPrecision precision() const { return precision_; }
  // Elements of one padded head in the cache: 4 * head_vec4s (fp32) or 8 * ceil(head_dim / 8) (fp16).
  uint32_t head_elements() const;
  uint64_t row_bytes() const;  // one position of all kv heads
  uint32_t seq_len() const { return seq_len_; }
  uint32_t layers() const { return uint32_t(layers_.size()); }
  uint64_t bytes() const;

  const vk::Buffer& keys(uint32_t layer) const { return layers_.at(layer).keys; }
  const vk::Buffer& values(uint32_t layer) const { return layers_.at(layer).values; }
  vk::Buffer& keys(uint32_t layer) { return layers_.at(layer).keys; }
  vk::Buffer& values(uint32_t layer) { return layers_.at(layer).values; }
  const vk::BufferView& key_texels(uint32_t layer) const { return layers_.at(layer).key_texels; }
  const vk::BufferView& value_texels(uint32_t layer) const { return layers_.at(layer).value_texels; }

 private:
  struct Layer {
    vk::Buffer keys, values;
    vk::BufferView key_texels, value_texels;
  };
  HeadShape shape_;
  KvPrecision precision_;
  uint32_t seq_len_;
  std::vector<Layer> layers_;
};

}  // namespace bitlens::kernels
