// Uniform asymmetric group quantization (docs/METHODS.md section 1): per group of `group_size`
// consecutive input columns of a row, scale = (max - min) / (2^b - 1), zero = round(-min / scale),
// q = clamp(round(w / scale) + zero, 0, 2^b - 1), w_hat = scale * (q - zero). The scale and the
// offset scale*zero are stored as fp16, and codes are computed against the stored values so that
// CPU reference and GPU kernels see the same w_hat = scale * q - offset.
// Rows whose length is not a multiple of group_size end in a shorter group.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace bitlens::quant {

struct QParams {
  float scale;   // fp16-representable
  float offset;  // fp16-representable, = scale * zero with an integer zero in [0, 2^b - 1]
};

// Range [lo, hi] of a group after clipping: hi = clip_hi * max, lo = clip_lo * min, with 0 kept
// inside the range so that zero is a valid code.
QParams choose_qparams(std::span<const float> w, uint32_t bits, float clip_hi = 1.0f, float clip_lo = 1.0f);
uint8_t quantize_value(float w, const QParams& p, uint32_t bits);
inline float dequantize_value(uint8_t q, const QParams& p) { return p.scale * float(q) - p.offset; }

// Logical (unpacked) form of a group-quantized matrix [rows x cols].
struct QuantizedMatrix {
  uint32_t rows = 0, cols = 0, bits = 0, group_size = 0;
  std::vector<uint8_t> codes;    // [rows][cols]
  std::vector<uint16_t> scale;   // [rows][groups] fp16
  std::vector<uint16_t> offset;  // [rows][groups] fp16

  uint32_t groups() const { return (cols + group_size - 1) / group_size; }
  QParams params(uint32_t row, uint32_t group) const;
  float dequantized(uint32_t row, uint32_t col) const;
};

QuantizedMatrix make_quantized(uint32_t rows, uint32_t cols, uint32_t bits, uint32_t group_size);
void set_params(QuantizedMatrix& m, uint32_t row, uint32_t group, const QParams& p);

// Round-to-nearest quantization of a row-major float matrix.
QuantizedMatrix quantize_rtn(std::span<const float> w, uint32_t rows, uint32_t cols, uint32_t bits,
                             uint32_t group_size);
// w_hat for every weight, row-major.
std::vector<float> dequantize(const QuantizedMatrix& m);

}  // namespace bitlens::quant
