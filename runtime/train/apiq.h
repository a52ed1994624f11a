// ApiQ block-wise partial retraining (Liao et al. 2024) with the saliency-aware regularizer of
// Cao & Aref 2025 (docs/METHODS.md section 9). Blocks are trained in order; for block i the clip logits
// and LoRA factors of its seven linears minimise
//   lambda_loss * [MSE(Block_q(X_q), Block_fp(X_fp)) + MSE(Block_q(X_q), Block_fp(X_q))] + lambda_reg * R
// where X_q are the outputs of the already quantized blocks 0..i-1 (with their packed weights and
// fp16 LoRA factors, as the runtime will run them) fed by the packed embedding, X_fp those of the
// fp32 model, and
// R = mean over the block's weights of s_ij (X_ij - W_ij)^2 with s the gradient saliency normalised
// to mean 1 over the block, X = W_eff ("after LoRA") or Q(W) ("before LoRA").
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "common/cancel.h"
#include "model/packed_model.h"
#include "model/weights.h"
#include "quant/format.h"
#include "train/adamw.h"
#include "train/gradient_saliency.h"
#include "train/lora_linear.h"

namespace bitlens::train {

enum class SaliencyRegularizer { None, BeforeLora, AfterLora };

// Defaults: the published W2 g64 setting scaled to stories15M (docs/TRAINING.md explains the scaling).
struct ApiqOptions {
  uint32_t bits = 2, group_size = 64;
  // Bits and group size per linear [layer][linear] overriding `bits` and `group_size` (mixed
  // precision from a bit allocation).
  struct LinearQuant {
    uint32_t bits = 2, group_size = 64;
  };
  std::vector<std::array<LinearQuant, model::kLinearsPerLayer>> linear_quant;
  uint32_t rank = 4;
  float alpha = 1.0f;           // LoRA scale alpha / rank = 0.25, as 16 / 64 in the paper
  float clip_init = 0.982f;     // sigmoid(4), OmniQuant's and ApiQ's initial clipping
  uint32_t epochs = 10;
  uint32_t batch_seqs = 1;      // calibration sequences per optimizer step
  AdamWConfig clip_optimizer{5e-2f, 0.1f};  // 10x the published rates for 8x fewer steps (docs/TRAINING.md)
  AdamWConfig lora_optimizer{5e-3f, 0.1f};
  float lambda_loss = 1.0f;
  bool aug_loss = true;         // the second MSE term, against Block_fp(X_q) (ApiQ's --aug_loss)
  SaliencyRegularizer regularizer = SaliencyRegularizer::None;
  float lambda_reg = 1e-3f;
  uint64_t seed = 0;
  quant::Format embedding_format = quant::Format::F32;
  uint32_t embedding_group_size = 64;
};

// Mean losses of one block over one epoch (epoch 0: the untrained start, LoRA B = 0).
struct EpochLoss {
  uint32_t block = 0, epoch = 0;
  double loss = 0, mse_fp = 0, mse_aug = 0, reg = 0;
  double seconds = 0;  // since the start of the run
};

struct ApiqResult {
  model::PackedModel model;
  std::vector<EpochLoss> curve;
  // Per block: MSE to Block_fp(X_fp) of the packed block (codes + fp16 LoRA) on X_q after training.
  std::vector<double> final_mse;
  double seconds = 0;
};

// tokens: calibration sequences of seq_len tokens, row-major. `saliency` is required when a
// regularizer is chosen. progress is called after every epoch of every block. `cancel`, when given,
// is checked before every optimizer step (CancelledError: nothing is returned).
ApiqResult apiq_quantize(const model::Model& model, std::span<const uint32_t> tokens, size_t seq_len,
                         const ApiqOptions& options, const GradientSaliency* saliency,
                         const std::function<void(const EpochLoss&)>& progress = {},
                         const Cancellation* cancel = nullptr);

}  // namespace bitlens::train
