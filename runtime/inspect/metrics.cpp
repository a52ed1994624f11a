// Layer errors from the quant library's metrics and saliency.
#include "inspect/metrics.h"

#include <cmath>

#include "common/error.h"
#include "quant/metrics.h"
#include "quant/saliency.h"

namespace bitlens::inspect {

namespace {

double sqrt_ratio(double num, double den) { return den > 0 ? std::sqrt(num / den) : 0.0; }

}  // namespace

LayerMetrics layer_metrics(std::span<const float> w, std::span<const float> w_eff, uint32_t rows, uint32_t cols,
                           const quant::Calibration& cal) {
  const size_t n = size_t(rows) * cols;
  if (w.size() != n || w_eff.size() != n) throw Error("layer_metrics: W and W_eff must both be rows x cols");
  if (cal.cols != cols) throw Error("layer_metrics: the calibration does not match the layer's columns");
  const std::vector<float> zero(n, 0.0f);
  const std::vector<float> s = quant::activation_saliency(w, rows, cols, cal.mean_square);
  const quant::ErrorWeights by_saliency(s, rows, cols);
  LayerMetrics m;
  m.weight_error = sqrt_ratio(quant::weighted_error(w, w_eff, rows, cols), quant::weighted_error(w, zero, rows, cols));
  m.saliency_error = sqrt_ratio(quant::weighted_error(w, w_eff, rows, cols, by_saliency),
                                quant::weighted_error(w, zero, rows, cols, by_saliency));
  if (cal.sample_rows) m.output_error = quant::relative_output_error(w, w_eff, rows, cols, cal.sample, cal.sample_rows);
  return m;
}

}  // namespace bitlens::inspect
