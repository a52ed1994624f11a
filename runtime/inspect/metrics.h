// The errors the inspector shows for one quantized layer (docs/METHODS.md section 10), all computed by
// quant/metrics.h and quant/saliency.h against the layer's calibration.
#pragma once

#include <cstdint>
#include <span>

#include "quant/calibration.h"

namespace bitlens::inspect {

struct LayerMetrics {
  double weight_error = 0;    // ||W - W_eff||_F / ||W||_F
  double output_error = 0;    // ||X (W - W_eff)^T||_F / ||X W^T||_F on the calibration sample X
  double saliency_error = 0;  // sqrt(sum s (w - w_eff)^2 / sum s w^2), s the activation-aware saliency
};

// w, w_eff: [rows x cols] row-major; cal: the layer's calibration (E[x^2] and sample rows). The
// output error is measured on the sample rows, not through the Hessian (rows * cols^2 per layer,
// too slow to run for every allocation candidate).
LayerMetrics layer_metrics(std::span<const float> w, std::span<const float> w_eff, uint32_t rows, uint32_t cols,
                           const quant::Calibration& cal);

}  // namespace bitlens::inspect
