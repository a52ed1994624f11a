// Tiled packing and unpacking for every format in the table.
#include "quant/packing.h"

#include <algorithm>

#include "common/error.h"
#include "common/fp16.h"
#include "quant/layouts/f16.h"
#include "quant/layouts/f32.h"
#include "quant/lowbit.h"
#include "quant/layouts/q2.h"
#include "quant/layouts/q3.h"
#include "quant/layouts/q4.h"
#include "quant/layouts/q8.h"

namespace bitlens::quant {

namespace {

void pack_codes(Format f, const uint8_t* codes, uint32_t* words) {
  switch (f) {
    case Format::Q2: return q2::pack_chunk(codes, words);
    case Format::Q3: return q3::pack_chunk(codes, words);
    case Format::Q4: return q4::pack_chunk(codes, words);
    case Format::Q8: return q8::pack_chunk(codes, words);
    default: throw UnsupportedError("pack_codes: not a grouped format");
  }
}

void unpack_codes(Format f, const uint32_t* words, uint8_t* codes) {
  switch (f) {
    case Format::Q2: return q2::unpack_chunk(words, codes);
    case Format::Q3: return q3::unpack_chunk(words, codes);
    case Format::Q4: return q4::unpack_chunk(words, codes);
    case Format::Q8: return q8::unpack_chunk(words, codes);
    default: throw UnsupportedError("unpack_codes: not a grouped format");
  }
}

void check_size(const PackedMatrix& p) {
  if (p.words.size() != p.layout.total_words())
    throw Error("packed matrix " + p.layout.describe() + " has " + std::to_string(p.words.size()) +
                " words, expected " + std::to_string(p.layout.total_words()));
}

}  // namespace

PackedMatrix pack(const QuantizedMatrix& m) {
  PackedMatrix p;
  p.layout = {format_for_bits(m.bits), m.rows, m.cols, m.group_size};
  validate(p.layout);
  p.words.assign(p.layout.total_words(), 0);
  const uint32_t wpc = format_info(p.layout.format).words_per_chunk;
  uint8_t chunk[kChunk];
  for (uint32_t r = 0; r < m.rows; ++r) {
    const uint32_t tile = r / kTileRows, i = r % kTileRows;
    for (uint32_t c = 0; c < p.layout.chunks(); ++c) {
      std::fill(chunk, chunk + kChunk, uint8_t(0));
      const uint32_t c0 = c * kChunk, n = std::min(kChunk, m.cols - c0);
      std::copy_n(&m.codes[size_t(r) * m.cols + c0], n, chunk);
      pack_codes(p.layout.format, chunk, &p.words[p.layout.code_index(tile, c) + i * wpc]);
    }
    for (uint32_t g = 0; g < m.groups(); ++g) {
      const size_t src = size_t(r) * m.groups() + g;
      p.words[p.layout.param_index(tile, g) + i] = uint32_t(m.scale[src]) | uint32_t(m.offset[src]) << 16;
    }
  }
  return p;
}

QuantizedMatrix unpack(const PackedMatrix& p) {
  check_size(p);
  const FormatInfo& info = format_info(p.layout.format);
  if (!info.grouped) throw UnsupportedError("unpack: " + p.layout.describe() + " is not a grouped format");
  QuantizedMatrix m = make_quantized(p.layout.rows, p.layout.cols, info.bits, p.layout.group_size);
  uint8_t chunk[kChunk];
  for (uint32_t r = 0; r < m.rows; ++r) {
    const uint32_t tile = r / kTileRows, i = r % kTileRows;
    for (uint32_t c = 0; c < p.layout.chunks(); ++c) {
      unpack_codes(p.layout.format, &p.words[p.layout.code_index(tile, c) + i * info.words_per_chunk], chunk);
      const uint32_t c0 = c * kChunk, n = std::min(kChunk, m.cols - c0);
      std::copy_n(chunk, n, &m.codes[size_t(r) * m.cols + c0]);
    }
    for (uint32_t g = 0; g < m.groups(); ++g) {
      const uint32_t word = p.words[p.layout.param_index(tile, g) + i];
      m.scale[size_t(r) * m.groups() + g] = uint16_t(word & 0xffffu);
      m.offset[size_t(r) * m.groups() + g] = uint16_t(word >> 16);
    }
  }
  return m;
}

PackedMatrix pack_float(std::span<const float> w, uint32_t rows, uint32_t cols, Format format) {
  if (format != Format::F32 && format != Format::F16)
    throw UnsupportedError("pack_float: " + std::string(format_info(format).name) + " is not a float format");
  PackedMatrix p;
  p.layout = {format, rows, cols, 0};
  validate(p.layout);
  if (w.size() != size_t(rows) * cols) throw Error("pack_float: weight count does not match the shape");
  p.words.assign(p.layout.total_words(), 0);
  const uint32_t wpc = format_info(format).words_per_chunk;
  float chunk[kChunk];
  for (uint32_t r = 0; r < rows; ++r) {
    for (uint32_t c = 0; c < p.layout.chunks(); ++c) {
      std::fill(chunk, chunk + kChunk, 0.0f);
      const uint32_t c0 = c * kChunk, n = std::min(kChunk, cols - c0);
      std::copy_n(&w[size_t(r) * cols + c0], n, chunk);
      uint32_t* dst = &p.words[p.layout.code_index(r / kTileRows, c) + (r % kTileRows) * wpc];
      if (format == Format::F32) f32::pack_chunk(chunk, dst);
      else f16::pack_chunk(chunk, dst);
    }
  }
  return p;
}

std::vector<float> dequantize(const PackedMatrix& p) {
  check_size(p);
  const PackedLayout& l = p.layout;
  if (const LowBitFormat* f = format_info(l.format).lowbit) return f->dequantize(p);
  if (format_info(l.format).grouped) return dequantize(unpack(p));
  std::vector<float> out(size_t(l.rows) * l.cols);
  const uint32_t wpc = format_info(l.format).words_per_chunk;
  float chunk[kChunk];
  for (uint32_t r = 0; r < l.rows; ++r) {
    for (uint32_t c = 0; c < l.chunks(); ++c) {
      const uint32_t* src = &p.words[l.code_index(r / kTileRows, c) + (r % kTileRows) * wpc];
      if (l.format == Format::F32) f32::unpack_chunk(src, chunk);
      else f16::unpack_chunk(src, chunk);
      const uint32_t c0 = c * kChunk, n = std::min(kChunk, l.cols - c0);
      std::copy_n(chunk, n, &out[size_t(r) * l.cols + c0]);
    }
  }
  return out;
}

bool can_concat_rows(const std::vector<const PackedMatrix*>& parts) {
  if (parts.empty()) return false;
  const PackedLayout& first = parts[0]->layout;
  // Low-bit layouts carry per-matrix state (column widths, salient columns), so only float and
  // group formats stack tile by tile.
  if (format_info(first.format).kind == FormatKind::LowBit) return false;
  for (size_t i = 0; i < parts.size(); ++i) {
    const PackedLayout& l = parts[i]->layout;
    if (l.format != first.format || l.cols != first.cols || l.group_size != first.group_size) return false;
    if (i + 1 < parts.size() && l.rows % kTileRows != 0) return false;
  }
  return true;
}

PackedMatrix concat_rows(const std::vector<const PackedMatrix*>& parts) {
  if (!can_concat_rows(parts))
    throw Error("concat_rows: the matrices differ in format, columns or group size, or do not fill whole tiles");
  PackedMatrix out;
  out.layout = parts[0]->layout;
  out.layout.rows = 0;
  for (const PackedMatrix* p : parts) {
    check_size(*p);
    out.layout.rows += p->layout.rows;
  }
  out.words.assign(out.layout.total_words(), 0);
  // Both sections are tile-major, so the parts' tiles follow one another in each.
  uint64_t code = 0, param = out.layout.params_offset_words();
  for (const PackedMatrix* p : parts) {
    const PackedLayout& l = p->layout;
    std::copy_n(p->words.begin(), l.code_words(), out.words.begin() + code);
    std::copy_n(p->words.begin() + l.params_offset_words(), l.param_words(), out.words.begin() + param);
    code += l.code_words();
    param += l.param_words();
  }
  return out;
}

}  // namespace bitlens::quant
