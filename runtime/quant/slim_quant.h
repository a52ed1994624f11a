// SliM-LLM (docs/METHODS.md section 5) on top of the GPTQ walk, producing the mixed-width format of
// layouts/mixed.h.
//  1. Salience-determined bit allocation: column groups (all rows of G columns) are ranked by their
//     mean OBS saliency w^2 / [H^-1]_jj^2; the i least salient get N-1 bits and the i most salient
//     N+1, the rest N; i in [0, groups/2] minimizes the mean KL(softmax(W x) || softmax(W_hat x))
//     over the calibration inputs x. A shorter last group keeps N bits so the mean stays N.
//  2. Salience-weighted quantizer calibration: when the walk enters a group, the range (or, at 1
//     bit, the two levels around their midpoint) is scaled by tau on a 21-point grid in [0.9, 1.1];
//     tau minimizes the mean squared error over the group's salient weights (OBS saliency above
//     the layer's mean + 3 standard deviations) plus the mean squared error over the rest.
// One-bit groups use the two 1-D k-means levels (the asymmetric grid with a zero level would waste
// one of the two codes on zero).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "quant/lowbit.h"

namespace bitlens::quant {

struct SlimOptions {
  uint32_t bits = 2;          // mean width N (2 or 3: groups use N-1, N, N+1)
  uint32_t group_size = 128;
  bool calibrate = true;      // step 2
  double damp = 0.01;
};

// Widths for `moves` groups moved down and up, from the groups' mean saliency.
std::vector<uint8_t> slim_group_bits(std::span<const double> group_saliency, uint32_t bits, uint32_t moves);

// Parameters of one group at `bits` bits (1 bit: two k-means levels) with its range scaled by tau.
QParams group_params(std::span<const float> v, uint32_t bits, float tau = 1.0f);
// Step 2 for one group: the tau-scaled parameters minimizing the salience-split error
// (salient[j] != 0 marks a salient weight).
QParams calibrate_group(std::span<const float> v, std::span<const uint8_t> salient, uint32_t bits);
// The loss calibrate_group minimizes.
double salience_split_error(std::span<const float> v, std::span<const uint8_t> salient, const QParams& p, uint32_t bits);

// Round-to-nearest with the given column-group widths.
MixedMatrix quantize_mixed_rtn(std::span<const float> w, uint32_t rows, uint32_t cols, uint32_t group_size,
                               const std::vector<uint8_t>& group_bits);
// GPTQ with the given column-group widths and group_params at tau = 1.
MixedMatrix quantize_mixed_gptq(std::span<const float> w, uint32_t rows, uint32_t cols, uint32_t group_size,
                                const std::vector<uint8_t>& group_bits, const std::vector<double>& hessian,
                                double damp = 0.01);

// Mean over the rows x of `x` (tokens x cols) of KL(softmax(W x) || softmax(W_hat x)).
double output_kl(std::span<const float> w, std::span<const float> w_hat, uint32_t rows, uint32_t cols,
                 std::span<const float> x, size_t tokens);

// hessian: [cols x cols]; calib_x: calibration input rows (tokens x cols) for the KL search.
MixedMatrix quantize_slim(std::span<const float> w, uint32_t rows, uint32_t cols, const std::vector<double>& hessian,
                          std::span<const float> calib_x, size_t calib_tokens, const SlimOptions& options = {});

}  // namespace bitlens::quant
