// What the calibration-based quantizers need of one linear layer's inputs (filled from the
// streaming statistics of calib/input_stats.h by pipeline/model_quant.h): the Hessian H = 2 X^T X / n, E[x_j^2], and a sample
// of input rows; and the same seen through an input rotation (V H V^T, V x).
#pragma once

#include <cstdint>
#include <vector>

#include "quant/rotation.h"

namespace bitlens::quant {

struct Calibration {
  uint32_t cols = 0;
  std::vector<double> hessian;     // [cols x cols]; empty when not collected
  std::vector<float> mean_square;  // [cols] E[x_j^2]
  std::vector<float> sample;       // [sample_rows x cols]
  size_t sample_rows = 0;

  bool has_hessian() const { return !hessian.empty(); }
};

// The calibration of the rotated layer (inputs V x); unchanged without an input rotation.
Calibration rotate_calibration(const Calibration& c, const Rotation& r);

}  // namespace bitlens::quant
