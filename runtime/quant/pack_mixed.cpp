// Packing of mixed-width column-group matrices into layouts/mixed.h.
#include <algorithm>

#include "common/error.h"
#include "common/parallel.h"
#include "quant/layouts/mixed.h"
#include "quant/lowbit.h"
#include "quant/slim_quant.h"
#include <random>

namespace bitlens::quant {

namespace {

// Table entries (groups + 1) for the widths of a matrix with `chunks` chunks.
std::vector<uint32_t> make_table(const std::vector<uint8_t>& bits, uint32_t chunks, uint32_t chunks_per_group) {
  std::vector<uint32_t> table(bits.size() + 1);
  uint32_t prefix = 0;
  for (size_t g = 0; g < bits.size(); ++g) {
    table[g] = mixed::table_entry(bits[g], prefix);
    const uint32_t c0 = uint32_t(g) * chunks_per_group, c1 = std::min(chunks, c0 + chunks_per_group);
    prefix += (c1 - c0) * bits[g];
  }
  table[bits.size()] = mixed::table_entry(0, prefix);
  return table;
}

// Word offset of row i of chunk c in tile t.
uint64_t code_word(const PackedLayout& l, const std::vector<uint32_t>& table, uint32_t t, uint32_t c, uint32_t i) {
  const uint32_t cpg = l.group_size / kChunk, g = c / cpg, b = mixed::entry_bits(table[g]);
  return mixed::table_words(l.groups()) + uint64_t(t) * kTileRows * l.aux +
         uint64_t(kTileRows) * (mixed::entry_prefix(table[g]) + (c - g * cpg) * b) + uint64_t(i) * b;
}

}  // namespace

PackedMatrix pack(const MixedMatrix& m) {
  const uint32_t chunks = (m.cols + kChunk - 1) / kChunk;
  if (m.group_bits.size() != m.groups()) throw Error("pack(mixed): wrong number of group widths");
  const std::vector<uint32_t> table = make_table(m.group_bits, chunks, m.group_size / kChunk);
  PackedMatrix p;
  p.layout = {Format::Mixed, m.rows, m.cols, m.group_size, mixed::entry_prefix(table.back())};
  validate(p.layout);
  p.words.assign(p.layout.total_words(), 0);
  std::copy(table.begin(), table.end(), p.words.begin());
  const PackedLayout& l = p.layout;
  parallel_for(m.rows, [&](size_t r0, size_t r1) {
    uint8_t chunk[kChunk];
    for (size_t r = r0; r < r1; ++r) {
      const uint32_t t = uint32_t(r) / kTileRows, i = uint32_t(r) % kTileRows;
      for (uint32_t c = 0; c < chunks; ++c) {
        std::fill(chunk, chunk + kChunk, uint8_t(0));
        const uint32_t c0 = c * kChunk, n = std::min(kChunk, m.cols - c0);
        std::copy_n(&m.codes[r * m.cols + c0], n, chunk);
        const uint32_t b = m.group_bits[c0 / m.group_size];
        for (uint32_t j = 0; j < n; ++j)
          if (chunk[j] >> b) throw Error("pack(mixed): code " + std::to_string(chunk[j]) + " exceeds " + std::to_string(b) + " bits");
        mixed::pack_chunk(b, chunk, &p.words[code_word(l, table, t, c, i)]);
      }
      for (uint32_t g = 0; g < m.groups(); ++g) {
        const size_t src = r * m.groups() + g;
        p.words[l.params_offset_words() + (uint64_t(t) * l.groups() + g) * kTileRows + i] =
            uint32_t(m.scale[src]) | uint32_t(m.offset[src]) << 16;
      }
    }
  });
  return p;
}

std::vector<uint8_t> mixed_widths(const PackedMatrix& p) {
  const PackedLayout& l = p.layout;
  if (l.format != Format::Mixed) throw UnsupportedError("expected a mixed matrix, got " + l.describe());
  validate(l);
  if (p.words.size() != l.total_words())
    throw Error("packed matrix " + l.describe() + " has " + std::to_string(p.words.size()) + " words, expected " +
                std::to_string(l.total_words()));
  std::vector<uint8_t> bits(l.groups());
  for (uint32_t g = 0; g < l.groups(); ++g) bits[g] = uint8_t(mixed::entry_bits(p.words[g]));
  for (uint8_t b : bits)
    if (b < mixed::kMinBits || b > mixed::kMaxBits) throw Error("packed mixed matrix " + l.describe() + ": bad width table");
  const std::vector<uint32_t> table = make_table(bits, l.chunks(), l.group_size / kChunk);
  if (!std::equal(table.begin(), table.end(), p.words.begin()) || mixed::entry_prefix(table.back()) != l.aux)
    throw Error("packed mixed matrix " + l.describe() + ": the width table does not match its layout");
  return bits;
}

MixedMatrix unpack_mixed(const PackedMatrix& p) {
  const PackedLayout& l = p.layout;
  const std::vector<uint8_t> bits = mixed_widths(p);
  const std::vector<uint32_t> table = make_table(bits, l.chunks(), l.group_size / kChunk);
  MixedMatrix m = make_mixed(l.rows, l.cols, l.group_size, bits);
  uint8_t chunk[kChunk];
  for (uint32_t r = 0; r < m.rows; ++r) {
    const uint32_t t = r / kTileRows, i = r % kTileRows;
    for (uint32_t c = 0; c < l.chunks(); ++c) {
      const uint32_t c0 = c * kChunk, n = std::min(kChunk, m.cols - c0);
      mixed::unpack_chunk(bits[c0 / m.group_size], &p.words[code_word(l, table, t, c, i)], chunk);
      std::copy_n(chunk, n, &m.codes[size_t(r) * m.cols + c0]);
    }
    for (uint32_t g = 0; g < m.groups(); ++g) {
      const uint32_t word = p.words[l.params_offset_words() + (uint64_t(t) * l.groups() + g) * kTileRows + i];
      m.scale[size_t(r) * m.groups() + g] = uint16_t(word & 0xffffu);
      m.offset[size_t(r) * m.groups() + g] = uint16_t(word >> 16);
    }
  }
  return m;
}

const LowBitFormat kMixedFormat = {
    .grouped = true,
    .aux_tag = nullptr,
    .code_words = [](const PackedLayout& l) { return mixed::table_words(l.groups()) + uint64_t(l.tiles()) * kTileRows * l.aux; },
    .param_words = [](const PackedLayout& l) { return uint64_t(l.tiles()) * l.groups() * kTileRows; },
    .validate =
        [](const PackedLayout& l) {
          const uint64_t lo = uint64_t(l.chunks()) * mixed::kMinBits, hi = uint64_t(l.chunks()) * mixed::kMaxBits;
          if (l.aux < lo || l.aux > hi)
            throw UnsupportedError("mixed matrix " + std::to_string(l.rows) + "x" + std::to_string(l.cols) + " with " +
                                   std::to_string(l.aux) + " code words per row (expected " + std::to_string(lo) +
                                   " to " + std::to_string(hi) + ")");
        },
    .validate_tables = [](const PackedMatrix& p) { mixed_widths(p); },
    .dequantize = [](const PackedMatrix& p) { return dequantize(unpack_mixed(p)); },
    .bench_weights =
        [](std::span<const float> w, uint32_t rows, uint32_t cols, uint64_t) {
          const uint32_t g = 64, groups = (cols + g - 1) / g;
          std::vector<uint8_t> bits(groups);  // widths 1, 2, 3 in turn: 2 bits on average
          for (uint32_t i = 0; i < groups; ++i) bits[i] = uint8_t(1 + (i + 1) % 3);
          return pack(quantize_mixed_rtn(w, rows, cols, g, bits));
        },
};

}  // namespace bitlens::quant
