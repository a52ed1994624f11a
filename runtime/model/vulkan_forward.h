// The transformer forward pass on a Vulkan device: a PackedModel's weights uploaded once in their
// packed formats, activations and an fp32 KV cache resident on the device, and each call one
// pre-recorded command buffer replayed with the token ids and the position written into small
// host-visible buffers: nothing is re-recorded per token and nothing returns to the host between
// layers. One token (decode) runs the packed mat-vec kernels; several tokens (prefill, evaluation
// windows) run the batched mat-mul kernels and causal attention over the whole batch.
//
//   x = embedding[token]
//   per layer:  x += wo(attention(rope(wq(n)), rope(wk(n)), wv(n)))   n = rmsnorm(x, rms_att)
//               x += w2(silu(w1(n)) * w3(n))                          n = rmsnorm(x, rms_ffn)
//   logits = classifier(rmsnorm(x, rms_final))
// Residual adds are fused: into the mat-vec (accumulate) for plain layers, into the next RMSNorm
// for layers with an output rotation. The rotary embedding is fused with the KV-cache write, and
// for one token (decode) both are fused into the attention kernel. In decode, RMSNorm and the
// SwiGLU product are also fused into the mat-vecs that read them where their kernels allow it
// (plain layers on the CPU strategy: GpuLinearGroup::fuse_decode_input).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kernels/attention.h"
#include "kernels/embedding.h"
#include "kernels/gpu.h"
#include "kernels/kv_cache.h"
#include "kernels/recording.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "kernels/swiglu.h"
#include "model/forward.h"
#include "model/gpu_linear.h"
#include "model/packed_model.h"

namespace bitlens::model {

struct VulkanForwardOptions {
  uint32_t max_batch = 0;  // tokens per submission (longer calls are split); 0: up to 256 within the context
  bool profile = false;    // timestamps around every op, summed in profile()
  bool staged_io = false;  // pass token ids and logits through staging copies even where device memory is mapped
  // Decode: RMSNorm, SwiGLU and input rotations applied inside the mat-vecs that read their
  // output, where the kernels can (no dispatch of their own); false keeps them separate
  // (benchmarks compare both).
  bool fused_inputs = true;
  // Precision of the keys and values in the cache (fp16 halves their bytes; the CPU reference
  // rounds them the same way with CpuForward::set_kv_f16).
  kernels::KvPrecision kv_cache = kernels::KvPrecision::F32;
};

class VulkanForward final : public Forward {
 public:
  VulkanForward(kernels::Gpu& gpu, const PackedModel& model, const VulkanForwardOptions& options = {});
  // A forward pass with a Gpu of its own (the device vk::ContextOptions::from_env() picks).
  static std::unique_ptr<VulkanForward> create(const PackedModel& model, const VulkanForwardOptions& options = {});
  ~VulkanForward() override;
  VulkanForward(const VulkanForward&) = delete;
  VulkanForward& operator=(const VulkanForward&) = delete;

  const ModelConfig& config() const override { return config_; }
  uint32_t max_batch() const { return max_batch_; }

  std::string name() const override { return "vulkan"; }

  // Forward (see forward.h). A call of up to max_batch() tokens is one submission; longer calls
  // are split into several, in order.
  std::span<const float> prefill(std::span<const uint32_t> tokens, uint32_t start_pos, bool all_logits) override;
  void reset() override { filled_ = 0; }
  // Benchmarks: go on as if positions [0, positions) were cached, so that a step at a late position
  // is timed without prefilling the ones before it. Their keys and values are whatever the cache
  // holds (zeros where no call wrote them): logits after it are for timing only.
  void assume_cached(uint32_t positions);

  // Bytes of weights and of the KV cache on the device.
  uint64_t weight_bytes() const;
  uint64_t kv_cache_bytes() const { return cache_->bytes(); }
  // Bytes one decode step at `context` positions (itself included) reads from memory: every block
  // linear and norm, the classifier, one embedding row, and the keys and values of the context.
  uint64_t bytes_per_token(uint32_t context) const;
  // Per-op device time summed over the calls since construction (profile mode only).
  const std::map<std::string, kernels::OpTime>& profile() const { return profile_; }

 private:
  enum class Logits { None, Last, All };  // which positions get logits
  // The device objects of one transformer block.
  struct Layer {
    std::unique_ptr<GpuLinearGroup> qkv, wo, ffn, w2;  // ffn: w1 and w3
    std::unique_ptr<kernels::Rope> rope;
    std::unique_ptr<kernels::Attention> attention;
    // Decode: the mat-vecs read the raw input and transform (norm, SwiGLU) and rotate it themselves.
    bool qkv_fused = false, wo_fused = false, ffn_fused = false, w2_fused = false;
  };

  void allocate_activations();
  void build_layers(const PackedModel& model);
  std::unique_ptr<kernels::Recording> record(uint32_t n, Logits mode);
  void record_layer(kernels::Recording& rec, uint32_t l, uint32_t n);
  kernels::Recording& recording(uint32_t n, Logits mode);
  // Runs n <= max_batch tokens at pos0; the logits land in logits_ (none, one row or n rows).
  void run(std::span<const uint32_t> tokens, uint32_t pos0, Logits mode);
  const float* logits_data() const;

  std::unique_ptr<kernels::Gpu> owned_gpu_;  // set by create(); destroyed after everything on it
  kernels::Gpu* gpu_;
  ModelConfig config_;
  VulkanForwardOptions options_;
  uint32_t max_batch_;
  uint32_t dim_stride_, kv_stride_, qkv_stride_, hidden_stride_;
  uint32_t filled_ = 0;  // positions [0, filled_) hold keys and values
  bool cache_zeroed_ = false;  // assume_cached cleared the cache once

  // Host-written inputs, device outputs, and their staging copies when not mapped.
  vk::Buffer tokens_, step_, host_in_, host_out_;
  bool staged_ = false;
  // Activations: x residual, xb normed input, qkv, att, h (gate | up), xf final norm, logits.
  vk::Buffer x_, xb_, qkv_, att_, h_, xf_, logits_;
  vk::Buffer norms_;  // rms_att, rms_ffn of each layer, then rms_final, rows of dim_stride_
  std::unique_ptr<RotationScratch> rotation_scratch_;

  std::unique_ptr<kernels::GpuMatrix> embedding_, classifier_matrix_;
  std::unique_ptr<kernels::KvCache> cache_;
  std::unique_ptr<kernels::RopeTable> rope_table_;
  std::unique_ptr<kernels::AttentionScratch> attention_scratch_;
  std::unique_ptr<kernels::EmbeddingLookup> embed_;
  std::unique_ptr<kernels::RmsNorm> norm_, final_norm_;
  std::unique_ptr<kernels::SwiGlu> swiglu_;
  std::unique_ptr<kernels::MatMul> classifier_;
  std::unique_ptr<kernels::MatMul> fused_classifier_;  // decode: final RMSNorm fused, reads x_ (or null)
  std::vector<Layer> layers_;

  std::map<std::pair<uint32_t, Logits>, std::unique_ptr<kernels::Recording>> recordings_;
  std::map<std::string, kernels::OpTime> profile_;
  std::vector<float> all_logits_;  // logits of calls longer than max_batch
};

}  // namespace bitlens::model
