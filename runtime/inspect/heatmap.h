// Downsampled views of a large matrix (a saliency map) for drawing: a window of the matrix is cut
// into cells of whole rows and columns, and each cell shows the largest value inside it, so that a
// single salient weight stays visible at any zoom.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace bitlens::inspect {

struct Heatmap {
  uint32_t row0 = 0, col0 = 0;          // first matrix row and column of the window
  uint32_t row_step = 1, col_step = 1;  // matrix rows and columns per cell
  uint32_t rows = 0, cols = 0;          // cells
  std::vector<float> cells;             // [rows x cols], max over each cell
};

// The window [row0, row1) x [col0, col1) of m [rows x cols] in at most max_rows x max_cols cells.
Heatmap downsample_max(std::span<const float> m, uint32_t rows, uint32_t cols, uint32_t row0, uint32_t row1,
                       uint32_t col0, uint32_t col1, uint32_t max_rows, uint32_t max_cols);

// A colour range for log-scaled positive values: {log10 of the 1st percentile of the positive
// values, log10 of the largest}; {0, 0} when nothing is positive.
std::pair<float, float> log_range(std::span<const float> v);

// The k input channels (columns) with the largest total, largest first.
std::vector<uint32_t> top_columns(std::span<const float> m, uint32_t rows, uint32_t cols, uint32_t k);

}  // namespace bitlens::inspect
