// The device objects of each block and the recording of a forward pass for n tokens: the dispatch
// sequence of the whole model, recorded once per (token count, logits mode) and replayed.
#include "model/vulkan_forward.h"

#include "common/error.h"

namespace bitlens::model {

namespace {
constexpr size_t kMaxRecordings = 8;  // cached (token count, logits mode) recordings
}

void VulkanForward::build_layers(const PackedModel& model) {
  const ModelConfig& c = config_;
  const uint32_t ds = dim_stride_, hs2 = 2 * hidden_stride_;
  for (uint32_t l = 0; l < c.n_layers; ++l) {
    const PackedLayer& pl = model.layers[l];
    auto lin = [&](Linear which) { return &pl.linear(which); };
    Layer layer;
    layer.qkv = std::make_unique<GpuLinearGroup>(
        *gpu_, xb_, c.dim, ds,
        std::vector<LinearTarget>{{"wq", lin(Linear::Wq), &qkv_, 0, qkv_stride_, false},
                                  {"wk", lin(Linear::Wk), &qkv_, ds, qkv_stride_, false},
                                  {"wv", lin(Linear::Wv), &qkv_, ds + kv_stride_, qkv_stride_, false}},
        *rotation_scratch_);
    // wo and w2 add their (rotated-back) products to the residual stream x.
    layer.wo = std::make_unique<GpuLinearGroup>(
        *gpu_, att_, c.dim, ds, std::vector<LinearTarget>{{"wo", lin(Linear::Wo), &x_, 0, ds, true}},
        *rotation_scratch_);
    layer.ffn = std::make_unique<GpuLinearGroup>(
        *gpu_, xb_, c.dim, ds,
        std::vector<LinearTarget>{{"w1", lin(Linear::W1), &h_, 0, hs2, false},
                                  {"w3", lin(Linear::W3), &h_, hidden_stride_, hs2, false}},
        *rotation_scratch_);
    layer.w2 = std::make_unique<GpuLinearGroup>(
        *gpu_, h_, c.hidden_dim, hs2, std::vector<LinearTarget>{{"w2", lin(Linear::W2), &x_, 0, ds, true}},
        *rotation_scratch_);
    if (options_.fused_inputs) {
      using Kind = kernels::InputTransform::Kind;
      layer.qkv_fused = layer.qkv->fuse_decode_input(*gpu_, x_, {Kind::RmsNorm, 2 * l * ds, c.norm_eps}, &norms_);
      layer.ffn_fused = layer.ffn->fuse_decode_input(*gpu_, x_, {Kind::RmsNorm, (2 * l + 1) * ds, c.norm_eps}, &norms_);
      layer.wo_fused = layer.wo->rotates_input() && layer.wo->fuse_decode_input(*gpu_, att_, {}, nullptr);
      layer.w2_fused = layer.w2->fuse_decode_input(*gpu_, h_, {Kind::SwiGlu, hidden_stride_, 0.0f}, nullptr);
    }
    layer.rope = std::make_unique<kernels::Rope>(*gpu_, *rope_table_, *cache_, l, qkv_, step_);
    layer.attention =
        std::make_unique<kernels::Attention>(*gpu_, *cache_, l, *attention_scratch_, qkv_, step_, att_, rope_table_.get());
    layers_.push_back(std::move(layer));
  }
}

kernels::Recording& VulkanForward::recording(uint32_t n, Logits mode) {
  const auto key = std::make_pair(n, mode);
  auto it = recordings_.find(key);
  if (it != recordings_.end()) return *it->second;
  if (recordings_.size() >= kMaxRecordings) {
    // Keep the decode recording; batch sizes come and go.
    const auto decode = std::make_pair(1u, Logits::Last);
    auto keep = recordings_.extract(decode);
    recordings_.clear();
    if (keep) recordings_.insert(std::move(keep));
  }
  return *recordings_.emplace(key, record(n, mode)).first->second;
}

std::unique_ptr<kernels::Recording> VulkanForward::record(uint32_t n, Logits mode) {
  const ModelConfig& c = config_;
  auto rec = std::make_unique<kernels::Recording>(*gpu_, options_.profile, 8 + 40 * c.n_layers);
  const uint32_t ds = dim_stride_;
  if (staged_) {
    rec->op("io", [&](vk::CommandBuffer& cmd) {
      cmd.copy(host_in_, step_, 16);
      cmd.copy(host_in_, tokens_, uint64_t(n) * 4, 16, 0);
    });
    rec->barrier();
  }
  rec->op("embedding", [&](vk::CommandBuffer& cmd) { embed_->record(cmd, {n, 0, 0, ds}); });
  rec->barrier();
  for (uint32_t l = 0; l < c.n_layers; ++l) record_layer(*rec, l, n);
  if (mode == Logits::None) return rec;
  // Final norm (of the last row only when only its logits are wanted) and classifier.
  const uint32_t rows = mode == Logits::All ? n : 1, first = (n - rows) * ds;
  if (n == 1 && fused_classifier_) {
    kernels::MatMulArgs args{1, 0, ds, 0, c.vocab_size};
    args.input = {kernels::InputTransform::Kind::RmsNorm, 2 * c.n_layers * ds, c.norm_eps};
    rec->op("classifier", [&](vk::CommandBuffer& cmd) { fused_classifier_->record(cmd, args); });
  } else {
    rec->op("rmsnorm", [&](vk::CommandBuffer& cmd) {
      final_norm_->record(cmd, {rows, first, ds, 0, ds, 2 * c.n_layers * ds});
    });
    rec->barrier();
    rec->op("classifier", [&](vk::CommandBuffer& cmd) { classifier_->record(cmd, {rows, 0, ds, 0, c.vocab_size}); });
  }
  if (staged_) {
    rec->barrier();
    rec->op("io", [&](vk::CommandBuffer& cmd) { cmd.copy(logits_, host_out_, uint64_t(rows) * c.vocab_size * 4); });
  }
  return rec;
}

void VulkanForward::record_layer(kernels::Recording& rec, uint32_t l, uint32_t n) {
  const Layer& layer = layers_[l];
  const uint32_t ds = dim_stride_;
  const bool decode = n == 1;
  if (!(decode && layer.qkv_fused)) {
    rec.op("rmsnorm", [&](vk::CommandBuffer& cmd) { norm_->record(cmd, {n, 0, ds, 0, ds, 2 * l * ds}); });
    rec.barrier();
  }
  layer.qkv->record(rec, n, decode && layer.qkv_fused);
  rec.barrier();
  if (decode) {
    // Decode: the rotary embedding and the cache write run inside the attention kernel.
    rec.op("attention", [&](vk::CommandBuffer& cmd) {
      layer.attention->record(cmd, {1, 0, qkv_stride_, 0, ds, true, ds, ds + kv_stride_});
    });
  } else {
    rec.op("rope", [&](vk::CommandBuffer& cmd) { layer.rope->record(cmd, {n, 0, ds, ds + kv_stride_, qkv_stride_}); });
    rec.barrier();
    rec.op("attention", [&](vk::CommandBuffer& cmd) { layer.attention->record(cmd, {n, 0, qkv_stride_, 0, ds}); });
  }
  rec.barrier();
  layer.wo->record(rec, n, decode && layer.wo_fused);
  rec.barrier();
  if (!(decode && layer.ffn_fused)) {
    rec.op("rmsnorm", [&](vk::CommandBuffer& cmd) { norm_->record(cmd, {n, 0, ds, 0, ds, (2 * l + 1) * ds}); });
    rec.barrier();
  }
  layer.ffn->record(rec, n, decode && layer.ffn_fused);
  rec.barrier();
  const bool w2_fused = decode && layer.w2_fused;
  if (!w2_fused) {
    rec.op("swiglu", [&](vk::CommandBuffer& cmd) { swiglu_->record(cmd, {n, 0, hidden_stride_, 2 * hidden_stride_}); });
    rec.barrier();
  }
  layer.w2->record(rec, n, w2_fused);
  rec.barrier();
}

}  // namespace bitlens::model
