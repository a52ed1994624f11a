// Per-site statistics of every block.
#include "calib/model_stats.h"

#include <string>

#include "common/error.h"

namespace bitlens::calib {

InputSite input_site(model::Linear l) {
  switch (l) {
    case model::Linear::Wq:
    case model::Linear::Wk:
    case model::Linear::Wv: return InputSite::AttentionIn;
    case model::Linear::Wo: return InputSite::AttentionOut;
    case model::Linear::W1:
    case model::Linear::W3: return InputSite::FfnIn;
    case model::Linear::W2: return InputSite::FfnHidden;
  }
  throw Error("input_site: unknown linear layer");
}

ModelStats::ModelStats(const model::ModelConfig& c, uint32_t sample_rows, bool with_hessian) {
  stats_.reserve(size_t(c.n_layers) * kInputSites);
  for (uint32_t i = 0; i < c.n_layers; ++i)
    for (uint32_t width : {c.dim, c.n_heads * c.head_dim(), c.dim, c.hidden_dim})
      stats_.emplace_back(width, sample_rows, with_hessian, 1 + stats_.size());
}

InputStats& ModelStats::at(uint32_t layer, InputSite site) {
  if (layer >= layers()) throw Error("calibration statistics: no layer " + std::to_string(layer));
  return stats_[size_t(layer) * kInputSites + uint32_t(site)];
}

const InputStats& ModelStats::at(uint32_t layer, InputSite site) const {
  if (layer >= layers()) throw Error("calibration statistics: no layer " + std::to_string(layer));
  return stats_[size_t(layer) * kInputSites + uint32_t(site)];
}

}  // namespace bitlens::calib
