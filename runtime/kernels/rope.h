// Rotary position embedding on the device, fused with the KV-cache write: q is rotated in place,
// k is rotated and v copied into the cache row of each token's position (see shaders/rope.comp).
// Positions come from the step buffer (params/step.h), so a recording serves every position.
#pragma once

#include <cstdint>

#include "kernels/gpu.h"
#include "kernels/kv_cache.h"
#include "vk/buffer.h"
#include "vk/commands.h"

namespace bitlens::kernels {

// The (cos, sin) of every position and pair, [seq_len][head_dim / 2], computed on the host in
// fp32 exactly as the CPU reference (model/cpu_ops.h rope) computes its angles.
class RopeTable {
 public:
  RopeTable(Gpu& gpu, uint32_t head_dim, uint32_t seq_len, float theta);
  uint32_t head_dim() const { return head_dim_; }
  uint32_t seq_len() const { return seq_len_; }
  const vk::BufferView& texels() const { return texels_; }

 private:
  uint32_t head_dim_, seq_len_;
  vk::Buffer buffer_;
  vk::BufferView texels_;
};

// Where q, k and v of token 0 start in the q/k/v buffer (floats, even) and the floats between tokens.
struct RopeArgs {
  uint32_t n = 1;
  uint32_t q_offset = 0;
  uint32_t k_offset = 0;
  uint32_t v_offset = 0;
  uint32_t stride = 0;
};

class Rope {
 public:
  // Binds the table, layer `layer` of the cache, the q/k/v float buffer and the step buffer.
  Rope(Gpu& gpu, const RopeTable& table, const KvCache& cache, uint32_t layer, const vk::Buffer& qkv,
       const vk::Buffer& step);
  void record(vk::CommandBuffer& cmd, const RopeArgs& args) const;

 private:
  const vk::Kernel* kernel_;
  HeadShape shape_;
  uint32_t head_quads_;  // cache elements per padded head / 4
  uint32_t seq_len_;
  uint64_t qkv_bytes_;
  vk::BufferView qkv_pairs_;
  vk::DescriptorSet set_;
};

}  // namespace bitlens::kernels
