// Causal multi-head attention on the device over the KV cache (grouped-query heads allowed), for
// one query (decode) or a batch of consecutive query positions (prefill, evaluation). The work is
// split over positions (pass 1, shaders/attention.comp) and merged (pass 2,
// shaders/attention_combine.comp), so a long context spreads over many workgroups; splits past a
// query's position end at once, so the cost follows the context actually used. Contexts of up to
// 256 positions run in one pass.
#pragma once

#include <cstdint>

#include "kernels/gpu.h"
#include "kernels/kv_cache.h"
#include "vk/buffer.h"
#include "vk/commands.h"

namespace bitlens::kernels {

// Partial results of pass 1 for up to max_queries queries; one is shared by every layer.
class AttentionScratch {
 public:
  AttentionScratch(Gpu& gpu, const HeadShape& shape, uint32_t seq_len, uint32_t max_queries);
  uint32_t split_len() const { return split_len_; }
  uint32_t n_splits() const { return n_splits_; }
  uint32_t max_queries() const { return max_queries_; }
  const vk::Buffer& max_sum() const { return max_sum_; }
  const vk::Buffer& values() const { return values_; }
  const vk::BufferView& value_texels() const { return value_texels_; }

 private:
  uint32_t split_len_, n_splits_, max_queries_;
  vk::Buffer max_sum_, values_;
  vk::BufferView value_texels_;
};

// Queries at q_offset + t * q_stride (heads of head_dim floats, head-major) for t < n, at
// positions step.pos0 + t; outputs at out_offset + t * out_stride in the same layout.
struct AttentionArgs {
  uint32_t n = 1;
  uint32_t q_offset = 0;
  uint32_t q_stride = 0;
  uint32_t out_offset = 0;
  uint32_t out_stride = 0;
};

class Attention {
 public:
  // Binds layer `layer` of the cache, the shared scratch, the query and output float buffers and
  // the step buffer.
  Attention(Gpu& gpu, const KvCache& cache, uint32_t layer, const AttentionScratch& scratch, const vk::Buffer& q,
            const vk::Buffer& step, const vk::Buffer& out);
  // Records pass 1, then (with several splits) a barrier and pass 2.
  void record(vk::CommandBuffer& cmd, const AttentionArgs& args) const;

 private:
  const vk::Kernel* scores_;
  const vk::Kernel* combine_;
  HeadShape shape_;
  const AttentionScratch* scratch_;
  uint64_t q_bytes_, out_bytes_;
  vk::BufferView q_texels_;
  vk::DescriptorSet scores_set_, combine_set_;
};

}  // namespace bitlens::kernels
