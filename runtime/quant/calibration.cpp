// Calibration views, plain and rotated.
#include "quant/calibration.h"

#include "common/error.h"

namespace bitlens::quant {

Calibration rotate_calibration(const Calibration& c, const Rotation& r) {
  if (!r.input) return c;
  Calibration out;
  out.cols = c.cols;
  out.sample = rotate_inputs(c.sample, c.sample_rows, c.cols, r);
  out.sample_rows = c.sample_rows;
  out.mean_square.assign(c.cols, 0.0f);
  if (c.has_hessian()) {
    out.hessian = rotate_hessian(c.hessian, c.cols, r);
    for (uint32_t j = 0; j < c.cols; ++j) out.mean_square[j] = float(0.5 * out.hessian[size_t(j) * c.cols + j]);
  } else if (c.sample_rows) {
    for (size_t t = 0; t < c.sample_rows; ++t)
      for (uint32_t j = 0; j < c.cols; ++j) out.mean_square[j] += out.sample[t * c.cols + j] * out.sample[t * c.cols + j];
    for (float& v : out.mean_square) v /= float(c.sample_rows);
  }
  return out;
}

}  // namespace bitlens::quant
