// Mixed-width column-group layout (SliM-LLM): every group of G columns (across all rows) has its own
// code width b_g in {1, 2, 3, 4}; w_hat = scale * q - offset with fp16 (scale, offset) per row and
// group, exactly as in the group formats. Sections:
//   table  (word 0): groups + 1 words; word g = b_g | prefix_g << 4 where prefix_g counts the code
//          words one row spends on the chunks before group g; word `groups` = the row total W_row
//          (also PackedLayout::aux). Padded to a whole texel (4 words).
//   codes: per tile 8 * W_row words; chunk c of group g starts at 8 * (prefix_g + (c - g * G/32) *
//          b_g) words into its tile, row i at + i * b_g: a row's chunk takes b_g words in the chunk
//          layout of that width (1: bit j of one word; 2: layouts/q2.h; 3: q3.h; 4: q4.h).
//   params (256-byte aligned): one (scale | offset << 16) word per row and group, 8 per tile-group.
// Bits per weight: (sum_g b_g * G_g) / cols + 32/G + 32 * (groups + 1) / (rows * cols), plus
// padding; with widths N-1 / N / N+1 in equal numbers the payload averages N bits.
#pragma once

#include <cstdint>

#include "quant/layouts/q2.h"
#include "quant/layouts/q3.h"
#include "quant/layouts/q4.h"

namespace bitlens::quant::mixed {

inline constexpr uint32_t kMinBits = 1;
inline constexpr uint32_t kMaxBits = 4;

inline uint32_t table_words(uint32_t groups) { return (groups + 1 + 3) / 4 * 4; }
inline uint32_t table_entry(uint32_t bits, uint32_t prefix) { return bits | prefix << 4; }
inline uint32_t entry_bits(uint32_t entry) { return entry & 15u; }
inline uint32_t entry_prefix(uint32_t entry) { return entry >> 4; }

// One row's chunk of 32 codes in `bits` words.
inline void pack_chunk(uint32_t bits, const uint8_t* codes, uint32_t* words) {
  switch (bits) {
    case 1: {
      uint32_t v = 0;
      for (int j = 0; j < 32; ++j) v |= uint32_t(codes[j] & 1u) << j;
      words[0] = v;
      return;
    }
    case 2: return q2::pack_chunk(codes, words);
    case 3: return q3::pack_chunk(codes, words);
    default: return q4::pack_chunk(codes, words);
  }
}

inline void unpack_chunk(uint32_t bits, const uint32_t* words, uint8_t* codes) {
  switch (bits) {
    case 1:
      for (int j = 0; j < 32; ++j) codes[j] = uint8_t((words[0] >> j) & 1u);
      return;
    case 2: return q2::unpack_chunk(words, codes);
    case 3: return q3::unpack_chunk(words, codes);
    default: return q4::unpack_chunk(words, codes);
  }
}

}  // namespace bitlens::quant::mixed
