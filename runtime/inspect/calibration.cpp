// Calibration inputs per layer.
#include "inspect/calibration.h"

#include <random>

#include "common/error.h"
#include "model/cpu_forward.h"

namespace bitlens::inspect {

std::span<const float> CalibrationSet::input(LayerRef layer) const {
  if (layer.block >= blocks.size()) throw Error("calibration inputs have no block " + std::to_string(layer.block));
  const Block& b = blocks[layer.block];
  switch (layer.linear) {
    case model::Linear::Wq:
    case model::Linear::Wk:
    case model::Linear::Wv: return b.attention_in;
    case model::Linear::Wo: return b.wo_in;
    case model::Linear::W1:
    case model::Linear::W3: return b.ffn_in;
    case model::Linear::W2: return b.w2_in;
  }
  throw Error("unknown linear layer");
}

CalibrationSet capture_calibration(const model::Model& model, std::span<const uint32_t> tokens, std::string source) {
  if (tokens.empty() || tokens.size() > model.config.seq_len)
    throw Error("calibration needs 1 to " + std::to_string(model.config.seq_len) + " tokens, not " +
                std::to_string(tokens.size()));
  CalibrationSet set;
  set.tokens = uint32_t(tokens.size());
  set.source = std::move(source);
  set.blocks.resize(model.config.n_layers);
  model::CpuForward forward(model);
  forward.set_input_observer([&](uint32_t layer, uint32_t site, std::span<const float> x, uint32_t) {
    CalibrationSet::Block& b = set.blocks[layer];
    std::vector<float>& dst = site == 0 ? b.attention_in : site == 1 ? b.wo_in : site == 2 ? b.ffn_in : b.w2_in;
    dst.insert(dst.end(), x.begin(), x.end());  // positions arrive in blocks, in order
  });
  forward.prefill(tokens, 0, false);
  return set;
}

namespace {

// tokens x n Gaussian values; every 37th channel has 6x the scale.
std::vector<float> outlier_inputs(uint32_t tokens, uint32_t n, std::mt19937_64& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(size_t(tokens) * n);
  for (uint32_t t = 0; t < tokens; ++t)
    for (uint32_t j = 0; j < n; ++j) x[size_t(t) * n + j] = nd(rng) * (j % 37 == 5 ? 6.0f : 1.0f);
  return x;
}

}  // namespace

CalibrationSet synthetic_calibration(const model::ModelConfig& config, uint32_t tokens, uint64_t seed) {
  CalibrationSet set;
  set.tokens = tokens;
  set.source = "synthetic Gaussian inputs (" + std::to_string(tokens) + " tokens)";
  std::mt19937_64 rng(seed);
  for (uint32_t b = 0; b < config.n_layers; ++b) {
    CalibrationSet::Block block;
    block.attention_in = outlier_inputs(tokens, config.dim, rng);
    block.wo_in = outlier_inputs(tokens, config.dim, rng);
    block.ffn_in = outlier_inputs(tokens, config.dim, rng);
    block.w2_in = outlier_inputs(tokens, config.hidden_dim, rng);
    set.blocks.push_back(std::move(block));
  }
  return set;
}

}  // namespace bitlens::inspect
