// The ApiQ methods of `bitlens quantize` (--method apiq, apiq-sal): block-wise training of LoRA
// factors and learnable clipping (runtime/train/apiq.h) on the calibration sequences, optionally
// with the saliency-weighted regularizer on the gradient saliency of the same sequences.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/cancel.h"
#include "model/packed_model.h"
#include "model/weights.h"
#include "quant/format.h"
#include "train/apiq.h"

namespace bitlens::cli {

struct ApiqCommandOptions {
  bool saliency = false;              // apiq-sal
  std::string regularizer = "after";  // where the saliency regularizer acts: after or before LoRA
  float lambda_reg = 20.0f;
  uint32_t rank = 4, epochs = 10;
  uint64_t seed = 0;
};

bool is_apiq_method(const std::string& method);

// Checks the options (before any work); throws Error naming the one at fault.
void validate_apiq(const ApiqCommandOptions& o);

// Bits per weight the LoRA factors of rank `rank` (fp16 A and B, fp32 scale) add over the block
// linears of a model of this configuration.
double lora_bpw(const model::ModelConfig& c, uint32_t rank);

// Trains the packed model: every linear at the (bits, group) of `quant` ([layer][linear]; empty:
// `bits`/`group` for all), on `sequences` (those shorter than the longest are dropped). Adds the
// training summary to `report`. Stops with CancelledError when `cancel` is requested (checked
// between sequences of the saliency pass and before every training step).
model::PackedModel apiq_model(const model::Model& m, std::span<const std::vector<uint32_t>> sequences,
                              const ApiqCommandOptions& o, uint32_t bits, uint32_t group,
                              const std::vector<std::array<train::ApiqOptions::LinearQuant, model::kLinearsPerLayer>>& quant,
                              quant::Format embedding, uint32_t embedding_group, const Cancellation& cancel,
                              nlohmann::json& report);

}  // namespace bitlens::cli
