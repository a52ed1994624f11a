// Learnable-clipping group quantizer and its straight-through backward (see clip_quantizer.h).
#include "train/clip_quantizer.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/parallel.h"
#include "quant/format.h"

namespace bitlens::train {

float clip_factor(float logit) { return 0.5f + 0.5f / (1.0f + std::exp(-logit)); }

float clip_logit(float c) {
  if (!(c > 0.5f && c < 1.0f)) throw Error("clip factor must lie in (0.5, 1), got " + std::to_string(c));
  const float s = 2.0f * c - 1.0f;
  return std::log(s / (1.0f - s));
}

ClipQuantizer::ClipQuantizer(const float* w, size_t rows, size_t cols, uint32_t bits, uint32_t group_size)
    : w_(w), rows_(rows), cols_(cols), groups_((cols + group_size - 1) / group_size), bits_(bits),
      group_size_(group_size) {
  quant::validate(quant::PackedLayout{quant::format_for_bits(bits), uint32_t(rows), uint32_t(cols), group_size});
  max_.assign(rows * groups_, 0.0f);
  min_.assign(rows * groups_, 0.0f);
  state_.resize(rows * groups_);
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) {
      const size_t g = r * groups_ + c / group_size;
      max_[g] = std::max(max_[g], w[r * cols + c]);
      min_[g] = std::min(min_[g], w[r * cols + c]);
    }
}

quant::QParams ClipQuantizer::params(size_t row, size_t group, float hi, float lo) const {
  const size_t c0 = group * group_size_, n = std::min(cols_, c0 + group_size_) - c0;
  return quant::choose_qparams({w_ + row * cols_ + c0, n}, bits_, clip_factor(hi), clip_factor(lo));
}

void ClipQuantizer::quantize(const float* hi, const float* lo, float* w_hat) {
  const float qmax = float((1u << bits_) - 1);
  parallel_for(rows_, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r)
      for (size_t g = 0; g < groups_; ++g) {
        const size_t i = r * groups_ + g;
        const quant::QParams p = params(r, g, hi[i], lo[i]);
        GroupState& s = state_[i];
        s.scale = p.scale;
        s.offset = p.offset;
        const float chi = clip_factor(hi[i]), clo = clip_factor(lo[i]);
        s.mn = min_[i] * clo;
        s.zero = std::nearbyint(p.offset / p.scale);
        // A range of zero width, or one that fell below fp16's smallest normal, has no useful gradient.
        s.degenerate = !(p.scale > 0.0f) || (max_[i] * chi - s.mn) / qmax < p.scale * 0.5f;
        s.dc_hi = (chi - 0.5f) * (1.0f - chi) * 2.0f;  // d/dp of 0.5 + 0.5 sigmoid(p)
        s.dc_lo = (clo - 0.5f) * (1.0f - clo) * 2.0f;
        const size_t c0 = g * group_size_, c1 = std::min(cols_, c0 + group_size_);
        for (size_t c = c0; c < c1; ++c)
          w_hat[r * cols_ + c] = quant::dequantize_value(quant::quantize_value(w_[r * cols_ + c], p, bits_), p);
      }
  }, 8);
}

void ClipQuantizer::backward(const float* dw_hat, float* dhi, float* dlo) const {
  const float qmax = float((1u << bits_) - 1);
  parallel_for(rows_, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r)
      for (size_t g = 0; g < groups_; ++g) {
        const size_t i = r * groups_ + g;
        const GroupState& s = state_[i];
        dhi[i] = dlo[i] = 0.0f;
        if (s.degenerate) continue;
        // w_hat = scale * q - offset; inside the range q follows (w + offset) / scale straight
        // through, so only the rounding residual depends on scale; clamped codes are constants.
        double g_scale = 0.0, g_offset = 0.0;
        const size_t c0 = g * group_size_, c1 = std::min(cols_, c0 + group_size_);
        for (size_t c = c0; c < c1; ++c) {
          const float d = dw_hat[r * cols_ + c];
          const float u = (w_[r * cols_ + c] + s.offset) / s.scale;
          const float q = std::nearbyint(u);
          if (q < 0.0f || q > qmax) {
            g_scale += double(d) * std::clamp(q, 0.0f, qmax);
            g_offset -= d;
          } else {
            g_scale += double(d) * (q - u);
          }
        }
        // offset = scale * round(-mn / scale): d offset = (zero + mn / scale) d scale - d mn.
        const double total_scale = g_scale + g_offset * (s.zero + s.mn / s.scale);
        const double d_max = total_scale / qmax;
        const double d_min = -total_scale / qmax - g_offset;
        dhi[i] = float(d_max * max_[i] * s.dc_hi);
        dlo[i] = float(d_min * min_[i] * s.dc_lo);
      }
  }, 8);
}

quant::QuantizedMatrix ClipQuantizer::quantized(const float* hi, const float* lo) const {
  quant::QuantizedMatrix m = quant::make_quantized(uint32_t(rows_), uint32_t(cols_), bits_, group_size_);
  for (size_t r = 0; r < rows_; ++r)
    for (size_t g = 0; g < groups_; ++g) {
      const quant::QParams p = params(r, g, hi[r * groups_ + g], lo[r * groups_ + g]);
      quant::set_params(m, uint32_t(r), uint32_t(g), p);
      const size_t c0 = g * group_size_, c1 = std::min(cols_, c0 + group_size_);
      for (size_t c = c0; c < c1; ++c) m.codes[r * cols_ + c] = quant::quantize_value(w_[r * cols_ + c], p, bits_);
    }
  return m;
}

}  // namespace bitlens::train
