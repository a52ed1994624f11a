// Split geometry, scratch allocation and dispatch of the attention passes.
#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"
#include "params/attention.h"

namespace bitlens::kernels {

namespace {
constexpr uint32_t kLanes = 8;         // invocations per workgroup of attention.comp
constexpr uint32_t kMinSplitLen = 256;  // positions per split of one query, at least
constexpr uint32_t kMaxSplits = 16;    // splits of one query for the longest context
}  // namespace

AttentionScratch::AttentionScratch(Gpu& gpu, const HeadShape& shape, uint32_t seq_len) {
  validate(shape);
  if (seq_len == 0) throw Error("attention scratch for no positions");
  const uint32_t blocks = (seq_len + kMinSplitLen - 1) / kMinSplitLen;
  split_len_ = kMinSplitLen * ((blocks + kMaxSplits - 1) / kMaxSplits);
  n_splits_ = (seq_len + split_len_ - 1) / split_len_;
  const uint64_t parts = uint64_t(shape.n_heads) * n_splits_;
  max_sum_ = vk::Buffer(gpu.ctx(), parts * 8);
  values_ = vk::Buffer(gpu.ctx(), parts * shape.head_vec4s() * 16);
  value_texels_ = vk::BufferView(gpu.ctx(), values_, VK_FORMAT_R32G32B32A32_SFLOAT);
}

Attention::Attention(Gpu& gpu, const KvCache& cache, uint32_t layer, const AttentionScratch& scratch,
                     const vk::Buffer& q, const vk::Buffer& step, const vk::Buffer& out, const RopeTable* rope)
    : shape_(cache.shape()), seq_len_(cache.seq_len()), scratch_(&scratch), q_bytes_(q.size()), out_bytes_(out.size()) {
  const auto texel = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
  const auto storage = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
  const std::string f16 = cache.precision() == KvPrecision::F16 ? "_f16" : "";
  scores_ = &gpu.kernel("attention" + f16, {texel, texel, texel, storage, storage, storage, storage},
                        sizeof(AttentionParams), {shape_.head_vec4s()});
  q_texels_ = vk::BufferView(gpu.ctx(), q, VK_FORMAT_R32_SFLOAT);
  scores_set_ = vk::DescriptorSet(gpu.ctx(), *scores_,
                                  {vk::Binding::texel(q_texels_), vk::Binding::texel(cache.key_texels(layer)),
                                   vk::Binding::texel(cache.value_texels(layer)), vk::Binding::storage(step),
                                   vk::Binding::storage(scratch.max_sum()), vk::Binding::storage(scratch.values()),
                                   vk::Binding::storage(out)});
  if (rope) {
    if (rope->head_dim() != shape_.head_dim || rope->seq_len() < seq_len_)
      throw Error("attention: the rope table does not match the heads or the cache");
    fused_ = &gpu.kernel("attention_rope" + f16,
                         {texel, texel, texel, storage, storage, storage, storage, texel, storage, storage},
                         sizeof(AttentionParams), {shape_.head_vec4s()});
    fused_set_ = vk::DescriptorSet(
        gpu.ctx(), *fused_,
        {vk::Binding::texel(q_texels_), vk::Binding::texel(cache.key_texels(layer)),
         vk::Binding::texel(cache.value_texels(layer)), vk::Binding::storage(step),
         vk::Binding::storage(scratch.max_sum()), vk::Binding::storage(scratch.values()), vk::Binding::storage(out),
         vk::Binding::texel(rope->texels()), vk::Binding::storage(cache.keys(layer)),
         vk::Binding::storage(cache.values(layer))});
  }
  if (scratch.n_splits() == 1) return;  // pass 2 never runs: its pipeline is not built
  combine_ = &gpu.kernel("attention_combine", {storage, texel, storage}, sizeof(AttentionParams));
  combine_set_ = vk::DescriptorSet(gpu.ctx(), *combine_,
                                   {vk::Binding::storage(scratch.max_sum()), vk::Binding::texel(scratch.value_texels()),
                                    vk::Binding::storage(out)});
}

void Attention::record(vk::CommandBuffer& cmd, const AttentionArgs& a) const {
  if (a.n == 0) return;
  const uint32_t dim = shape_.n_heads * shape_.head_dim;
  if ((uint64_t(a.q_offset) + uint64_t(a.n - 1) * a.q_stride + dim) * 4 > q_bytes_ ||
      (uint64_t(a.out_offset) + uint64_t(a.n - 1) * a.out_stride + dim) * 4 > out_bytes_)
    throw Error("attention: the query or output buffer is too small for " + std::to_string(a.n) + " queries");
  if (a.rope) {
    if (!fused_) throw Error("attention: rope requested but no rope table is bound");
    if (a.n != 1) throw Error("attention: rope is fused for one query only");
    const uint32_t kv_dim = shape_.n_kv_heads * shape_.head_dim;
    if ((uint64_t(std::max(a.k_offset, a.v_offset)) + kv_dim) * 4 > q_bytes_)
      throw Error("attention: the new key or value lies outside the query buffer");
  }
  const bool split = a.n == 1;
  AttentionParams p{a.n,
                    shape_.n_heads,
                    shape_.n_kv_heads,
                    shape_.head_dim,
                    shape_.head_vec4s(),
                    split ? scratch_->split_len() : seq_len_,
                    split ? scratch_->n_splits() : 1,
                    a.q_offset,
                    a.q_stride,
                    a.out_offset,
                    a.out_stride,
                    float(1.0 / std::sqrt(double(shape_.head_dim))),
                    split ? 1 : kLanes,
                    a.k_offset,
                    a.v_offset};
  cmd.dispatch(a.rope ? *fused_ : *scores_, a.rope ? fused_set_ : scores_set_, p, (a.n + p.query_lanes - 1) / p.query_lanes, shape_.n_heads, p.n_splits);
  if (p.n_splits == 1) return;
  cmd.barrier();
  cmd.dispatch(*combine_, combine_set_, p, shape_.n_heads, a.n);
}

}  // namespace bitlens::kernels
