// Max-pooled matrix windows, colour ranges and salient columns.
#include "inspect/heatmap.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"

namespace bitlens::inspect {

Heatmap downsample_max(std::span<const float> m, uint32_t rows, uint32_t cols, uint32_t row0, uint32_t row1,
                       uint32_t col0, uint32_t col1, uint32_t max_rows, uint32_t max_cols) {
  if (m.size() != size_t(rows) * cols) throw Error("downsample_max: matrix size does not match its shape");
  if (row0 >= row1 || col0 >= col1 || row1 > rows || col1 > cols) throw Error("downsample_max: empty or outside window");
  if (max_rows == 0 || max_cols == 0) throw Error("downsample_max: zero cells");
  Heatmap h;
  h.row0 = row0;
  h.col0 = col0;
  h.row_step = (row1 - row0 + max_rows - 1) / max_rows;
  h.col_step = (col1 - col0 + max_cols - 1) / max_cols;
  h.rows = (row1 - row0 + h.row_step - 1) / h.row_step;
  h.cols = (col1 - col0 + h.col_step - 1) / h.col_step;
  h.cells.assign(size_t(h.rows) * h.cols, -INFINITY);
  for (uint32_t r = row0; r < row1; ++r) {
    float* cell_row = &h.cells[size_t((r - row0) / h.row_step) * h.cols];
    const float* src = &m[size_t(r) * cols];
    for (uint32_t c = col0; c < col1; ++c) {
      float& cell = cell_row[(c - col0) / h.col_step];
      cell = std::max(cell, src[c]);
    }
  }
  return h;
}

std::pair<float, float> log_range(std::span<const float> v) {
  std::vector<float> pos;
  for (float x : v)
    if (x > 0 && std::isfinite(x)) pos.push_back(x);
  if (pos.empty()) return {0.0f, 0.0f};
  const size_t k = pos.size() / 100;
  std::nth_element(pos.begin(), pos.begin() + k, pos.end());
  const float lo = pos[k];
  const float hi = *std::max_element(pos.begin(), pos.end());
  return {std::log10(lo), std::log10(hi)};
}

std::vector<uint32_t> top_columns(std::span<const float> m, uint32_t rows, uint32_t cols, uint32_t k) {
  if (m.size() != size_t(rows) * cols) throw Error("top_columns: matrix size does not match its shape");
  std::vector<double> total(cols, 0.0);
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t c = 0; c < cols; ++c) total[c] += m[size_t(r) * cols + c];
  std::vector<uint32_t> idx(cols);
  std::iota(idx.begin(), idx.end(), 0u);
  k = std::min(k, cols);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](uint32_t a, uint32_t b) { return total[a] > total[b]; });
  idx.resize(k);
  return idx;
}

}  // namespace bitlens::inspect
