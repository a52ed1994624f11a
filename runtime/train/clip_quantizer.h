// Group quantization with learnable clipping (OmniQuant's learnable weight clipping, as ApiQ trains
// it) and its straight-through backward. Each group g of a row has two trainable logits; its range
// is [c(lo_g) * min, c(hi_g) * max] with c(p) = 0.5 + 0.5 * sigmoid(p) in (0.5, 1), and the values
// are exactly what choose_qparams / quantize_value (quant/group_quant.h) give for those clip
// factors, so the trained quantizer is the one the runtime stores.
// Backward: rounding (of w / scale and of the zero point) and the fp16 rounding of scale and offset
// pass gradients straight through; clamping to [0, 2^b - 1] does not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "quant/group_quant.h"

namespace bitlens::train {

float clip_factor(float logit);         // 0.5 + 0.5 * sigmoid(logit)
float clip_logit(float clip_factor);    // its inverse, for clip factors in (0.5, 1)

class ClipQuantizer {
 public:
  // w [rows x cols] stays frozen and must outlive the quantizer.
  ClipQuantizer(const float* w, size_t rows, size_t cols, uint32_t bits, uint32_t group_size);

  size_t rows() const { return rows_; }
  size_t cols() const { return cols_; }
  size_t groups() const { return groups_; }               // per row
  size_t parameters() const { return rows_ * groups_; }   // logits per side (hi or lo)
  uint32_t bits() const { return bits_; }
  uint32_t group_size() const { return group_size_; }

  // w_hat [rows x cols] = Q(w) for logits hi, lo [rows x groups]; keeps what backward needs.
  void quantize(const float* hi, const float* lo, float* w_hat);
  // Straight-through gradient of the last quantize(): dhi, dlo [rows x groups] from dL/dw_hat.
  void backward(const float* dw_hat, float* dhi, float* dlo) const;
  // Codes and fp16 parameters for logits hi, lo (dequantize() of it equals quantize()'s w_hat).
  quant::QuantizedMatrix quantized(const float* hi, const float* lo) const;

 private:
  struct GroupState {
    float scale = 0, offset = 0, zero = 0;  // as stored: w_hat = scale * q - offset
    float mn = 0;                           // clipped minimum (<= 0)
    float dc_hi = 0, dc_lo = 0;             // d clip factor / d logit
    bool degenerate = true;                 // all-zero group or a range below fp16: no gradient
  };
  quant::QParams params(size_t row, size_t group, float hi, float lo) const;

  const float* w_;
  size_t rows_, cols_, groups_;
  uint32_t bits_, group_size_;
  std::vector<float> max_, min_;  // per group, with 0 included as choose_qparams does
  std::vector<GroupState> state_;
};

}  // namespace bitlens::train
