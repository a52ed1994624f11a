// Saliency estimators (docs/METHODS.md section 2) and their aggregation. A saliency map is one
// non-negative float per weight of a [rows x cols] matrix (rows: output channels, cols: input
// channels), row-major.
//   activation-aware: s_ij = w_ij^2 * E[x_j^2]          (llama.cpp's importance matrix)
//   OBS:              s_ij = w_ij^2 / [H^-1]_jj^2        (SliM-LLM, Definition 3.1)
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace bitlens::quant {

std::vector<float> activation_saliency(std::span<const float> w, uint32_t rows, uint32_t cols,
                                       std::span<const float> mean_square);
// hinv_diag: the diagonal of H^-1 of the damped Hessian (hessian_inverse_diagonal).
std::vector<float> obs_saliency(std::span<const float> w, uint32_t rows, uint32_t cols,
                                std::span<const double> hinv_diag);
// diag((H + damp * mean(diag H) * I)^-1) for H [n x n].
std::vector<double> hessian_inverse_diagonal(const std::vector<double>& hessian, uint32_t n, double damp = 0.01);

// Aggregates of one saliency map: means per (row, column group), per input channel (column), per
// output channel (row), and over the whole tensor.
struct SaliencySummary {
  uint32_t rows = 0, cols = 0, group_size = 0;
  std::vector<float> group_mean;    // [rows][groups], groups of group_size columns (last one shorter)
  std::vector<float> column_mean;   // [cols]
  std::vector<float> row_mean;      // [rows]
  double sum = 0.0;                 // over the tensor
  double mean() const { return rows && cols ? sum / (double(rows) * cols) : 0.0; }
  uint32_t groups() const { return (cols + group_size - 1) / group_size; }
};
SaliencySummary summarize(std::span<const float> saliency, uint32_t rows, uint32_t cols, uint32_t group_size);

// Mean saliency of each column group across all rows (SliM-LLM's group ranking).
std::vector<double> column_group_mean(std::span<const float> saliency, uint32_t rows, uint32_t cols,
                                      uint32_t group_size);

// A transformer layer's saliency: the sum and mean over the weights of its tensors.
struct LayerSaliency {
  double sum = 0.0;
  uint64_t weights = 0;
  double mean() const { return weights ? sum / double(weights) : 0.0; }
};
LayerSaliency aggregate_layer(std::span<const SaliencySummary> tensors);

}  // namespace bitlens::quant
