// Quantization error metrics (docs/METHODS.md section 10) and weight-distribution statistics.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "quant/error_weights.h"

namespace bitlens::quant {

// Mean over the calibration tokens of ||(W - W_hat) x||^2 = tr((W - W_hat) H (W - W_hat)^T) / 2
// with H = 2 X^T X / n ([cols x cols]). With `row_weight` ([rows]), output i's term is weighted by
// row_weight[i].
double output_error(std::span<const float> w, std::span<const float> w_hat, uint32_t rows, uint32_t cols,
                    const std::vector<double>& hessian, std::span<const float> row_weight = {});
// ||X W^T - X W_hat^T||_F / ||X W^T||_F on the rows of x ([tokens x cols]).
double relative_output_error(std::span<const float> w, std::span<const float> w_hat, uint32_t rows, uint32_t cols,
                             std::span<const float> x, size_t tokens);
// sum weight_ij (w_ij - w_hat_ij)^2 (plain squared error with empty weights).
double weighted_error(std::span<const float> w, std::span<const float> w_hat, uint32_t rows, uint32_t cols,
                      const ErrorWeights& weights = {});

float max_abs(std::span<const float> v);
// E[(v - mean)^4] / var^2 (3 for a Gaussian).
double kurtosis(std::span<const float> v);

}  // namespace bitlens::quant
