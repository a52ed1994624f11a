// Causal multi-head attention on the device over the KV cache (grouped-query heads allowed), for
// one query (decode) or a batch of consecutive query positions (prefill, evaluation), see
// shaders/attention.comp. A batch runs in one pass, eight queries per workgroup sharing each key
// and value read. One query is split over positions (pass 1) and merged (pass 2,
// shaders/attention_combine.comp), so a long context spreads over many workgroups; splits past
// the query's position end at once, so the cost follows the context actually used.
#pragma once

#include <cstdint>

#include "kernels/gpu.h"
#include "kernels/kv_cache.h"
#include "vk/buffer.h"
#include "vk/commands.h"

namespace bitlens::kernels {

// The split of one query's positions and the partial results of pass 1; one is shared by every
// layer.
class AttentionScratch {
 public:
  AttentionScratch(Gpu& gpu, const HeadShape& shape, uint32_t seq_len);
  uint32_t split_len() const { return split_len_; }
  uint32_t n_splits() const { return n_splits_; }
  const vk::Buffer& max_sum() const { return max_sum_; }
  const vk::Buffer& values() const { return values_; }
  const vk::BufferView& value_texels() const { return value_texels_; }

 private:
  uint32_t split_len_, n_splits_;
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
  // Records pass 1, then (one query with several splits) a barrier and pass 2.
  void record(vk::CommandBuffer& cmd, const AttentionArgs& args) const;

 private:
  const vk::Kernel* scores_;
  const vk::Kernel* combine_ = nullptr;  // with several splits only
  HeadShape shape_;
  uint32_t seq_len_;
  const AttentionScratch* scratch_;
  uint64_t q_bytes_, out_bytes_;
  vk::BufferView q_texels_;
  vk::DescriptorSet scores_set_, combine_set_;
};

}  // namespace bitlens::kernels
