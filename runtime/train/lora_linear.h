// One linear layer as ApiQ trains it: W_eff = Q(W; clip logits) + (alpha / rank) * B A, with W frozen,
// the per-group clip logits and the LoRA factors A [rank x in], B [out x rank] trainable, and the
// saliency-aware regularizer of Cao & Aref 2025 on W_eff - W ("after LoRA") or Q(W) - W ("before").
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/packed_model.h"
#include "train/adamw.h"
#include "train/clip_quantizer.h"

namespace bitlens::train {

enum class RegularizerPlace { AfterLora, BeforeLora };

struct LoraLinearConfig {
  uint32_t bits = 2, group_size = 64;
  uint32_t rank = 4;      // 0: no LoRA (learnable clipping only)
  float alpha = 1.0f;     // LoRA scale = alpha / rank
  float clip_init = 0.982f;  // initial clip factor of every group (ApiQ: sigmoid(4))
};

class LoraLinear {
 public:
  // w [out x in] must outlive the layer; A is drawn from U(-1/sqrt(in), 1/sqrt(in)) with `seed`, B = 0.
  LoraLinear(const float* w, size_t out, size_t in, const LoraLinearConfig& config, uint64_t seed);

  size_t out() const { return out_; }
  size_t in() const { return in_; }
  float lora_scale() const { return config_.rank ? config_.alpha / float(config_.rank) : 0.0f; }

  // Rebuilds Q(W) and W_eff from the current parameters; returns W_eff [out x in].
  const float* build();
  const float* effective() const { return w_eff_.data(); }

  // R = sum_ij s_ij (X_ij - W_ij)^2 for saliency s [out x in], X = W_eff (after LoRA) or Q(W)
  // (before), at the last build().
  double regularizer(const float* saliency, RegularizerPlace place) const;

  // Gradients of the parameters from dL/dW_eff plus those of weight * R (saliency null: no
  // regularizer), at the last build().
  void backward(const float* dw_eff, const float* saliency, float weight, RegularizerPlace place);

  // One AdamW step on the clip logits and on A, B with the gradients of the last backward().
  void step(const AdamWConfig& clip, const AdamWConfig& lora);

  // The layer as the runtime stores it: packed codes from the learned clipping, fp16 LoRA factors
  // (quant::effective_weight of it is the weight the runtime computes with).
  quant::PackedLinear pack() const;

  // Parameter access for tests.
  std::vector<float>& clip_hi() { return hi_; }
  std::vector<float>& clip_lo() { return lo_; }
  std::vector<float>& lora_a() { return a_; }
  std::vector<float>& lora_b() { return b_; }
  const std::vector<float>& grad_clip_hi() const { return ghi_; }
  const std::vector<float>& grad_clip_lo() const { return glo_; }
  const std::vector<float>& grad_lora_a() const { return ga_; }
  const std::vector<float>& grad_lora_b() const { return gb_; }

 private:
  const float* w_;
  size_t out_, in_;
  LoraLinearConfig config_;
  ClipQuantizer quantizer_;
  std::vector<float> hi_, lo_, a_, b_;       // parameters
  std::vector<float> ghi_, glo_, ga_, gb_;   // their gradients
  AdamW opt_hi_, opt_lo_, opt_a_, opt_b_;
  std::vector<float> q_, w_eff_;             // Q(W) and W_eff of the last build()
  std::vector<float> d_eff_, d_q_, scaled_b_;  // scratch reused from step to step
};

}  // namespace bitlens::train
