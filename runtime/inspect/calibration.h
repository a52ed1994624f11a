// CalibrationSet: the inputs X [tokens x in] of every linear layer on a few calibration tokens,
// from which the inspector measures output error and activation-aware saliency. wq, wk and wv
// share one input (the normed residual), as do w1 and w3.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "inspect/layer_choice.h"
#include "model/config.h"
#include "model/weights.h"

namespace bitlens::inspect {

struct CalibrationSet {
  struct Block {
    std::vector<float> attention_in;  // [tokens x dim]      input of wq, wk, wv
    std::vector<float> wo_in;         // [tokens x dim]      attention output, input of wo
    std::vector<float> ffn_in;        // [tokens x dim]      input of w1, w3
    std::vector<float> w2_in;         // [tokens x hidden]   silu(w1 x) * (w3 x), input of w2
  };
  uint32_t tokens = 0;
  std::vector<Block> blocks;
  std::string source;  // where the inputs came from, shown in the inspector

  std::span<const float> input(LayerRef layer) const;
};

// The inputs of every block linear while `model` runs `tokens` (BOS first, at most its context) on
// the CPU; `source` says where the tokens came from.
CalibrationSet capture_calibration(const model::Model& model, std::span<const uint32_t> tokens, std::string source);

// Gaussian inputs with a few high-energy channels (like real activations' outlier channels), for
// synthetic models and tests.
CalibrationSet synthetic_calibration(const model::ModelConfig& config, uint32_t tokens, uint64_t seed);

}  // namespace bitlens::inspect
