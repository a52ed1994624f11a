// The key/value cache of every layer on the device, and the head geometry the rotary-embedding
// and attention kernels share. Each layer's keys and values are [seq_len][n_kv_heads][head_vec4s]
// vec4 rows (heads padded to a multiple of 4 floats), written as storage buffers by Rope and read
// as vec4 texel buffers by Attention.
#pragma once

#include <cstdint>
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

class KvCache {
 public:
  KvCache(Gpu& gpu, const HeadShape& shape, uint32_t seq_len, uint32_t n_layers);

  const HeadShape& shape() const { return shape_; }
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
  uint32_t seq_len_;
  std::vector<Layer> layers_;
};

}  // namespace bitlens::kernels
