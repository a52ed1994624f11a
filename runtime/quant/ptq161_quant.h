// PTQ1.61 quantizer (docs/METHODS.md section 7): the top `salient_fraction` of input channels by
// activation magnitude (a 1-D structured mask) keep 4 bits per row (asymmetric, the row's salient
// weights form one group); every other weight is binarized per row, w_hat = alpha * sign(w - mu) +
// mu with mu the row's mean and alpha its mean |w - mu|. With the layer's Hessian H the row's
// (alpha, mu) are then refined: the closed-form least squares of the row's output error
// (w - w_hat) H (w - w_hat)^T over (alpha, mu) for fixed signs, alternated with re-choosing the
// signs (a per-row version of the paper's block-wise scale optimization). Packed by
// layouts/ptq161.h at 1 + 3k + 64/cols bpw (k = salient fraction) plus small masks.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "quant/lowbit.h"

namespace bitlens::quant {

struct Ptq161Options {
  double salient_fraction = 0.2;
  bool refine = true;          // needs the Hessian
  uint32_t refine_rounds = 3;
};

// The `count` columns of largest magnitude, in increasing index order (ties to the lower index).
std::vector<uint32_t> select_salient_columns(std::span<const float> magnitude, uint32_t count);

// channel_magnitude: one value per input column (e.g. E[x_j^2]); hessian: [cols x cols] or null.
Ptq161Matrix quantize_ptq161(std::span<const float> w, uint32_t rows, uint32_t cols,
                             std::span<const float> channel_magnitude, const std::vector<double>* hessian,
                             const Ptq161Options& options = {});

}  // namespace bitlens::quant
