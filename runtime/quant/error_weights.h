// Optional weights of a quantizer's squared error: none (plain error), one per input column
// (e.g. E[x_j^2], the activation-aware weighting), or one per weight (a saliency map).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/error.h"

namespace bitlens::quant {

class ErrorWeights {
 public:
  ErrorWeights() = default;
  ErrorWeights(std::span<const float> values, uint32_t rows, uint32_t cols) : values_(values), cols_(cols) {
    if (!values.empty() && values.size() != cols && values.size() != size_t(rows) * cols)
      throw Error("error weights: expected " + std::to_string(cols) + " (per column) or " +
                  std::to_string(size_t(rows) * cols) + " (per weight) values, got " + std::to_string(values.size()));
    per_weight_ = values.size() == size_t(rows) * cols && rows > 1;
  }

  bool empty() const { return values_.empty(); }
  float at(uint32_t row, uint32_t col) const {
    if (values_.empty()) return 1.0f;
    return per_weight_ ? values_[size_t(row) * cols_ + col] : values_[col];
  }
  // Weights of columns [c0, c1) of one row, into out (1 when empty).
  void row_range(uint32_t row, uint32_t c0, uint32_t c1, float* out) const {
    for (uint32_t c = c0; c < c1; ++c) out[c - c0] = at(row, c);
  }

 private:
  std::span<const float> values_;
  uint32_t cols_ = 0;
  bool per_weight_ = false;
};

}  // namespace bitlens::quant
