// Accumulation of squared output gradients over sequences (see output_fisher.h).
#include "train/output_fisher.h"

#include "common/error.h"
#include "train/lm_gradient.h"

namespace bitlens::train {

OutputFisher output_fisher(const model::Model& model, const std::vector<std::vector<uint32_t>>& sequences,
                           const std::function<void(size_t, size_t)>& progress) {
  LmGradient lm(model);
  std::vector<OutputSquares> sum;
  size_t predicted = 0;
  for (size_t s = 0; s < sequences.size(); ++s) {
    const std::vector<uint32_t>& seq = sequences[s];
    if (seq.size() < 2 || seq.size() > model.config.seq_len)
      throw Error("output Fisher: sequence " + std::to_string(s) + " has " + std::to_string(seq.size()) +
                  " tokens (2 to " + std::to_string(model.config.seq_len) + " needed)");
    // The gradients are of the sequence's mean loss; times the predictions, of its summed loss.
    std::vector<OutputSquares> one;
    lm.loss(seq, {1, seq.size()}, nullptr, &one);
    const double n = double(seq.size() - 1);
    sum.resize(one.size());
    for (size_t l = 0; l < one.size(); ++l)
      for (uint32_t k = 0; k < model::kLinearsPerLayer; ++k) {
        sum[l][k].resize(one[l][k].size(), 0.0);
        for (size_t i = 0; i < one[l][k].size(); ++i) sum[l][k][i] += one[l][k][i] * n * n;
      }
    predicted += seq.size() - 1;
    if (progress) progress(s + 1, sequences.size());
  }
  if (!predicted) throw Error("output Fisher: no calibration sequences");
  OutputFisher out;
  out.predicted_tokens = predicted;
  out.f.resize(sum.size());
  for (size_t l = 0; l < sum.size(); ++l)
    for (uint32_t k = 0; k < model::kLinearsPerLayer; ++k)
      for (double v : sum[l][k]) out.f[l][k].push_back(float(v / double(predicted)));
  return out;
}

}  // namespace bitlens::train
