// Feeding calibration sequences through the CPU forward pass into ModelStats.
#include "calib/capture.h"

#include <algorithm>

#include "common/error.h"

namespace bitlens::calib {

void capture(model::CpuForward& forward, std::span<const std::vector<uint32_t>> sequences, ModelStats& stats,
             const std::function<void(size_t, size_t)>& progress) {
  if (stats.layers() != forward.config().n_layers)
    throw Error("calibration capture: statistics for " + std::to_string(stats.layers()) + " layers, model has " +
                std::to_string(forward.config().n_layers));
  forward.set_input_observer([&](uint32_t layer, uint32_t site, std::span<const float> rows, uint32_t n) {
    stats.at(layer, InputSite(site)).add(rows, n);
  });
  try {
    for (size_t i = 0; i < sequences.size(); ++i) {
      forward.reset();
      forward.prefill(sequences[i], 0, false);
      if (progress) progress(i + 1, sequences.size());
    }
  } catch (...) {
    forward.set_input_observer({});
    throw;
  }
  forward.set_input_observer({});
  forward.reset();
}

std::vector<std::vector<uint32_t>> calibration_sequences(std::span<const uint32_t> tokens, uint32_t bos,
                                                         uint32_t length, uint64_t max_tokens) {
  if (length < 2) throw Error("calibration sequences need at least 2 tokens each");
  std::vector<std::vector<uint32_t>> out;
  uint64_t total = 0;
  for (size_t start = 0; start + 1 < tokens.size() && total < max_tokens; start += length - 1) {
    const size_t n = std::min<size_t>({size_t(length - 1), tokens.size() - start, size_t(max_tokens - total - 1)});
    if (n == 0) break;
    std::vector<uint32_t> seq = {bos};
    seq.insert(seq.end(), tokens.begin() + start, tokens.begin() + start + n);
    total += seq.size();
    out.push_back(std::move(seq));
  }
  return out;
}

}  // namespace bitlens::calib
