// choose_qparams / quantize / dequantize for uniform asymmetric group quantization.
#include "quant/group_quant.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/fp16.h"
#include "common/parallel.h"
#include "quant/format.h"

namespace bitlens::quant {

namespace {

void check_bits(uint32_t bits) {
  if (bits != 2 && bits != 3 && bits != 4 && bits != 8)
    throw UnsupportedError("group quantization supports 2, 3, 4 and 8 bits, not " + std::to_string(bits));
}

}  // namespace

QParams choose_qparams(std::span<const float> w, uint32_t bits, float clip_hi, float clip_lo) {
  check_bits(bits);
  const float qmax = float((1u << bits) - 1);
  float mn = 0.0f, mx = 0.0f;  // 0 stays inside the range
  for (float v : w) {
    mn = std::min(mn, v);
    mx = std::max(mx, v);
  }
  mx *= clip_hi;
  mn *= clip_lo;
  float scale = round_to_half((mx - mn) / qmax);
  if (!(scale > 0.0f)) {
    if (mx - mn > 0.0f) scale = half_to_float(0x0400);  // smallest normal half
    else return {1.0f, 0.0f};                             // all zeros
  }
  const float zero = std::clamp(std::nearbyint(-mn / scale), 0.0f, qmax);
  return {scale, round_to_half(scale * zero)};
}

uint8_t quantize_value(float w, const QParams& p, uint32_t bits) {
  const float qmax = float((1u << bits) - 1);
  const float q = std::nearbyint((w + p.offset) / p.scale);
  return uint8_t(std::clamp(q, 0.0f, qmax));
}

QParams QuantizedMatrix::params(uint32_t row, uint32_t group) const {
  const size_t i = size_t(row) * groups() + group;
  return {half_to_float(scale[i]), half_to_float(offset[i])};
}

float QuantizedMatrix::dequantized(uint32_t row, uint32_t col) const {
  return dequantize_value(codes[size_t(row) * cols + col], params(row, col / group_size));
}

QuantizedMatrix make_quantized(uint32_t rows, uint32_t cols, uint32_t bits, uint32_t group_size) {
  check_bits(bits);
  validate(PackedLayout{format_for_bits(bits), rows, cols, group_size});
  QuantizedMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.bits = bits;
  m.group_size = group_size;
  m.codes.assign(size_t(rows) * cols, 0);
  m.scale.assign(size_t(rows) * m.groups(), 0);
  m.offset.assign(size_t(rows) * m.groups(), 0);
  return m;
}

void set_params(QuantizedMatrix& m, uint32_t row, uint32_t group, const QParams& p) {
  const size_t i = size_t(row) * m.groups() + group;
  m.scale[i] = float_to_half(p.scale);
  m.offset[i] = float_to_half(p.offset);
}

QuantizedMatrix quantize_rtn(std::span<const float> w, uint32_t rows, uint32_t cols, uint32_t bits,
                             uint32_t group_size) {
  if (w.size() != size_t(rows) * cols)
    throw Error("quantize_rtn: got " + std::to_string(w.size()) + " weights for a " + std::to_string(rows) + "x" +
                std::to_string(cols) + " matrix");
  QuantizedMatrix m = make_quantized(rows, cols, bits, group_size);
  parallel_for(rows, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      for (uint32_t g = 0; g < m.groups(); ++g) {
        const uint32_t c0 = g * group_size, c1 = std::min(cols, c0 + group_size);
        std::span<const float> grp = w.subspan(r * cols + c0, c1 - c0);
        const QParams p = choose_qparams(grp, bits);
        set_params(m, uint32_t(r), g, p);
        for (uint32_t c = c0; c < c1; ++c) m.codes[r * cols + c] = quantize_value(w[r * cols + c], p, bits);
      }
    }
  });
  return m;
}

std::vector<float> dequantize(const QuantizedMatrix& m) {
  std::vector<float> out(size_t(m.rows) * m.cols);
  for (uint32_t r = 0; r < m.rows; ++r)
    for (uint32_t c = 0; c < m.cols; ++c) out[size_t(r) * m.cols + c] = m.dequantized(r, c);
  return out;
}

}  // namespace bitlens::quant
