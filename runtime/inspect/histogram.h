// Histograms of weights for the inspector: the values of a scope (whole tensor, one output
// channel, one input channel, one quantization group), counts over a shared range, and the
// quantization levels of a group.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <utility>
#include <vector>

#include "quant/group_quant.h"

namespace bitlens::inspect {

enum class Scope : uint32_t { Tensor = 0, Row, Column, Group };
const char* scope_name(Scope s);  // "tensor", "output channel", "input channel", "group"

// The values of m [rows x cols] in the scope containing (row, col); a group is group_size
// consecutive columns of one row (the last group of a row may be shorter).
std::vector<float> scope_values(std::span<const float> m, uint32_t rows, uint32_t cols, Scope scope, uint32_t row,
                                uint32_t col, uint32_t group_size);

struct Histogram {
  float lo = 0, hi = 0;
  std::vector<uint32_t> counts;
  uint64_t outside = 0;  // values below lo or above hi (not counted in any bin)
  uint32_t max_count() const;
  float bin_width() const { return counts.empty() ? 0.0f : (hi - lo) / float(counts.size()); }
};

// Counts of v in `bins` equal bins over [lo, hi]; values outside are only counted in `outside`.
Histogram histogram(std::span<const float> v, float lo, float hi, uint32_t bins);

// [min, max] over several value sets (so their histograms share an axis); {0, 0} when all are empty.
std::pair<float, float> value_range(std::initializer_list<std::span<const float>> sets);

// [quantile(tail), quantile(1 - tail)] of the union of several value sets, so that a few extreme
// weights do not squeeze the bulk of a histogram into a few bins; {0, 0} when all are empty.
std::pair<float, float> robust_range(std::initializer_list<std::span<const float>> sets, float tail);

// The 2^bits values w_hat = scale * q - offset of group `group` of row `row`, ascending.
std::vector<float> group_levels(const quant::QuantizedMatrix& m, uint32_t row, uint32_t group);

}  // namespace bitlens::inspect
