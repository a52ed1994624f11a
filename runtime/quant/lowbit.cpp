// Construction and scalar reference dequantization of the low-bit logical matrices.
#include "quant/lowbit.h"

#include <algorithm>

#include "common/error.h"
#include "common/fp16.h"
#include "quant/layouts/mixed.h"

namespace bitlens::quant {

namespace {

std::string shape(uint32_t rows, uint32_t cols) { return std::to_string(rows) + "x" + std::to_string(cols); }

}  // namespace

QParams MixedMatrix::params(uint32_t row, uint32_t group) const {
  const size_t i = size_t(row) * groups() + group;
  return {half_to_float(scale[i]), half_to_float(offset[i])};
}

float MixedMatrix::dequantized(uint32_t row, uint32_t col) const {
  return dequantize_value(codes[size_t(row) * cols + col], params(row, col / group_size));
}

double MixedMatrix::mean_bits() const {
  double bits = 0;
  for (uint32_t g = 0; g < groups(); ++g) bits += double(group_bits[g]) * (std::min(cols, (g + 1) * group_size) - g * group_size);
  return bits / cols;
}

MixedMatrix make_mixed(uint32_t rows, uint32_t cols, uint32_t group_size, std::vector<uint8_t> group_bits) {
  MixedMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.group_size = group_size;
  validate(PackedLayout{Format::Mixed, rows, cols, group_size, (cols + kChunk - 1) / kChunk * mixed::kMinBits});
  if (group_bits.size() != m.groups())
    throw Error("mixed matrix " + shape(rows, cols) + " g" + std::to_string(group_size) + " needs " +
                std::to_string(m.groups()) + " group widths, got " + std::to_string(group_bits.size()));
  for (uint8_t b : group_bits)
    if (b < mixed::kMinBits || b > mixed::kMaxBits)
      throw UnsupportedError("mixed-width groups have 1 to 4 bits, not " + std::to_string(b));
  m.group_bits = std::move(group_bits);
  m.codes.assign(size_t(rows) * cols, 0);
  m.scale.assign(size_t(rows) * m.groups(), 0);
  m.offset.assign(size_t(rows) * m.groups(), 0);
  return m;
}

void set_params(MixedMatrix& m, uint32_t row, uint32_t group, const QParams& p) {
  const size_t i = size_t(row) * m.groups() + group;
  m.scale[i] = float_to_half(p.scale);
  m.offset[i] = float_to_half(p.offset);
}

std::vector<int32_t> Ptq161Matrix::salient_slot() const {
  std::vector<int32_t> slot(cols, -1);
  for (size_t k = 0; k < salient.size(); ++k) slot[salient[k]] = int32_t(k);
  return slot;
}

Ptq161Matrix make_ptq161(uint32_t rows, uint32_t cols, std::vector<uint32_t> salient) {
  validate(PackedLayout{Format::Ptq161, rows, cols, 0, uint32_t(salient.size())});
  for (size_t k = 0; k < salient.size(); ++k)
    if (salient[k] >= cols || (k > 0 && salient[k] <= salient[k - 1]))
      throw Error("ptq161 salient columns must be increasing indices below " + std::to_string(cols));
  Ptq161Matrix m;
  m.rows = rows;
  m.cols = cols;
  m.salient = std::move(salient);
  m.signs.assign(size_t(rows) * cols, 0);
  m.codes.assign(size_t(rows) * m.salient.size(), 0);
  for (auto* v : {&m.alpha, &m.mu, &m.sscale, &m.soffset}) v->assign(rows, 0);
  return m;
}

TernaryMatrix make_ternary(uint32_t rows, uint32_t cols, uint32_t group_size) {
  validate(PackedLayout{Format::Ternary, rows, cols, group_size});
  TernaryMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.group_size = group_size;
  m.trits.assign(size_t(rows) * cols, 0);
  m.scale.assign(size_t(rows) * m.groups(), 0);
  return m;
}

TritPlaneMatrix make_tritplane(uint32_t rows, uint32_t cols, uint32_t group_size) {
  validate(PackedLayout{Format::TritPlane, rows, cols, group_size});
  TritPlaneMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.group_size = group_size;
  m.t1.assign(size_t(rows) * cols, 0);
  m.t2.assign(size_t(rows) * cols, 0);
  m.a1.assign(size_t(rows) * m.groups(), 0);
  m.a2.assign(size_t(rows) * m.groups(), 0);
  return m;
}

std::vector<float> dequantize(const MixedMatrix& m) {
  std::vector<float> out(size_t(m.rows) * m.cols);
  for (uint32_t r = 0; r < m.rows; ++r)
    for (uint32_t c = 0; c < m.cols; ++c) out[size_t(r) * m.cols + c] = m.dequantized(r, c);
  return out;
}

std::vector<float> dequantize(const Ptq161Matrix& m) {
  std::vector<float> out(size_t(m.rows) * m.cols);
  const std::vector<int32_t> slot = m.salient_slot();
  const size_t ns = m.salient.size();
  for (uint32_t r = 0; r < m.rows; ++r) {
    const float alpha = half_to_float(m.alpha[r]), mu = half_to_float(m.mu[r]);
    const float sscale = half_to_float(m.sscale[r]), soffset = half_to_float(m.soffset[r]);
    for (uint32_t c = 0; c < m.cols; ++c) {
      const size_t i = size_t(r) * m.cols + c;
      out[i] = slot[c] >= 0 ? sscale * float(m.codes[r * ns + size_t(slot[c])]) - soffset
                            : alpha * float(2 * int(m.signs[i]) - 1) + mu;
    }
  }
  return out;
}

std::vector<float> dequantize(const TernaryMatrix& m) {
  std::vector<float> out(size_t(m.rows) * m.cols);
  for (uint32_t r = 0; r < m.rows; ++r)
    for (uint32_t c = 0; c < m.cols; ++c) {
      const size_t i = size_t(r) * m.cols + c;
      out[i] = half_to_float(m.scale[size_t(r) * m.groups() + c / m.group_size]) * float(m.trits[i]);
    }
  return out;
}

std::vector<float> dequantize(const TritPlaneMatrix& m) {
  std::vector<float> out(size_t(m.rows) * m.cols);
  for (uint32_t r = 0; r < m.rows; ++r)
    for (uint32_t c = 0; c < m.cols; ++c) {
      const size_t i = size_t(r) * m.cols + c, g = size_t(r) * m.groups() + c / m.group_size;
      out[i] = half_to_float(m.a1[g]) * float(m.t1[i]) + half_to_float(m.a2[g]) * float(m.t2[i]);
    }
  return out;
}

void validate_tables(const PackedMatrix& p) {
  const LowBitFormat* f = format_info(p.layout.format).lowbit;
  if (f && f->validate_tables) f->validate_tables(p);
}

void require_no_aux(const PackedLayout& l) {
  if (l.aux != 0)
    throw UnsupportedError(std::string(format_info(l.format).name) + " matrices have no format-specific size (got " +
                           std::to_string(l.aux) + ")");
}

}  // namespace bitlens::quant
