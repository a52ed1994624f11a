// CalibrationSet: what the inspector knows about the inputs of every block linear, as the runtime's
// quantizers take it (quant::Calibration: the Hessian, E[x_j^2] and a sample of input rows), one per
// input site (calib::InputSite: wq, wk and wv share one input, as do w1 and w3).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "calib/model_stats.h"
#include "inspect/layer_ref.h"
#include "model/weights.h"
#include "quant/calibration.h"

namespace bitlens::inspect {

struct CalibrationSet {
  uint64_t tokens = 0;
  std::string source;                   // where the inputs came from, shown in the inspector
  std::vector<quant::Calibration> sites;  // [block * calib::kInputSites + site]

  uint32_t blocks() const { return uint32_t(sites.size() / calib::kInputSites); }
  const quant::Calibration& of(LayerRef layer) const;
};

CalibrationSet calibration_set(const calib::ModelStats& stats, std::string source);

// Statistics of the inputs while `model` runs `tokens` (no BOS) in sequences of at most its
// context, BOS first (calib::calibration_sequences and calib::capture on the CPU forward pass).
CalibrationSet capture_calibration(const model::Model& model, std::span<const uint32_t> tokens, uint32_t bos,
                                   std::string source);

}  // namespace bitlens::inspect
