// Calibration statistics of a whole model: one InputStats per distinct input of each block's
// linear layers: the attention input (wq, wk, wv read the same normalized x), the attention output
// (wo), the FFN input (w1, w3) and the SwiGLU hidden state (w2). A forward pass that captures
// calibration data calls at(layer, site).add(rows, tokens) once per site and batch.
#pragma once

#include <cstdint>
#include <vector>

#include "calib/input_stats.h"
#include "model/config.h"
#include "model/weights.h"

namespace bitlens::calib {

enum class InputSite : uint32_t { AttentionIn = 0, AttentionOut = 1, FfnIn = 2, FfnHidden = 3 };
inline constexpr uint32_t kInputSites = 4;

InputSite input_site(model::Linear l);

class ModelStats {
 public:
  explicit ModelStats(const model::ModelConfig& config, uint32_t sample_rows = 256, bool with_hessian = true);

  uint32_t layers() const { return uint32_t(stats_.size() / kInputSites); }
  InputStats& at(uint32_t layer, InputSite site);
  const InputStats& at(uint32_t layer, InputSite site) const;
  const InputStats& for_linear(uint32_t layer, model::Linear l) const { return at(layer, input_site(l)); }

 private:
  std::vector<InputStats> stats_;  // [layer][site]
};

}  // namespace bitlens::calib
