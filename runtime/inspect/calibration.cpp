// Calibration inputs per layer, from the calib library's capture.
#include "inspect/calibration.h"

#include "calib/capture.h"
#include "common/error.h"
#include "model/cpu_forward.h"
#include "pipeline/model_quant.h"

namespace bitlens::inspect {

const quant::Calibration& CalibrationSet::of(LayerRef layer) const {
  if (layer.block >= blocks()) throw Error("calibration inputs have no block " + std::to_string(layer.block));
  return sites[size_t(layer.block) * calib::kInputSites + uint32_t(calib::input_site(layer.linear))];
}

CalibrationSet calibration_set(const calib::ModelStats& stats, std::string source) {
  CalibrationSet set;
  set.source = std::move(source);
  for (uint32_t b = 0; b < stats.layers(); ++b)
    for (uint32_t s = 0; s < calib::kInputSites; ++s)
      set.sites.push_back(pipeline::calibration_from(stats.at(b, calib::InputSite(s))));
  set.tokens = stats.layers() ? stats.at(0, calib::InputSite::AttentionIn).tokens() : 0;
  return set;
}

CalibrationSet capture_calibration(const model::Model& model, std::span<const uint32_t> tokens, uint32_t bos,
                                   std::string source) {
  if (tokens.empty()) throw Error("calibration needs at least one token");
  const auto sequences = calib::calibration_sequences(tokens, bos, model.config.seq_len, tokens.size() * 2);
  calib::ModelStats stats(model.config);
  model::CpuForward forward(model);
  calib::capture(forward, sequences, stats);
  return calibration_set(stats, std::move(source));
}

}  // namespace bitlens::inspect
