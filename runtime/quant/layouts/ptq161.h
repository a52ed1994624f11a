// PTQ1.61 layout: a set S of salient input columns is kept at 4 bits per row (w_hat = sscale * q -
// soffset, q in [0, 15]); every other weight is binarized per row: w_hat = alpha * s + mu with
// s = 2b - 1 in {-1, +1}. The sign plane covers every column; at a salient column its bit holds the
// low bit of q, and only the three high bits of q are stored apart, so a salient weight costs
// 4 bits and a binarized one 1 bit. Sections (in words; offsets of the last three in the meta texel):
//   signs: per tile-chunk (tile * chunks + chunk) 8 words, word i = row i, bit j = column 32c + j.
//   params (PackedLayout::params_offset_words(), 256-byte aligned):
//     meta: 4 words {n_salient, mask word, index word, salient-code word} (absolute word offsets);
//     rows: per tile 16 words: 8 x (alpha | mu << 16), then 8 x (sscale | soffset << 16), fp16;
//     mask: one bit per column (chunk words), padded to a texel;
//     index: the salient columns in increasing order, 16 bits each (two per word), padded to a texel;
//     salient codes: per tile and salient chunk (32 salient columns) 8 rows x 3 words holding the
//       high parts h = q >> 1 in the Q3 chunk layout (layouts/q3.h); unused slots are zero.
// Bits per weight, with k = |S| / cols: 1 + 3k + 64/cols (row parameters) + 1/rows (mask)
// + 16k/rows (index) + 128/(rows*cols) (meta), plus padding (k = 0.2: about 1.6 + 64/cols).
#pragma once

#include <cstdint>

namespace bitlens::quant::ptq161 {

inline constexpr uint32_t kMetaWords = 4;
inline constexpr uint32_t kRowParamWordsPerTile = 16;
inline constexpr uint32_t kSalientWordsPerRowChunk = 3;
inline constexpr uint32_t kMaxColumns = 1u << 16;  // column indices are stored in 16 bits

inline uint64_t align4(uint64_t w) { return (w + 3) / 4 * 4; }

// Word offsets of the sections after the sign plane, from the start of the parameter section.
struct ParamSections {
  uint64_t meta = 0, rows = 0, mask = 0, index = 0, salient = 0, end = 0;
};

inline ParamSections param_sections(uint64_t params_offset, uint32_t tiles, uint32_t chunks, uint32_t n_salient) {
  ParamSections s;
  s.meta = params_offset;
  s.rows = s.meta + kMetaWords;
  s.mask = s.rows + uint64_t(tiles) * kRowParamWordsPerTile;
  s.index = s.mask + align4(chunks);
  s.salient = s.index + align4((n_salient + 1) / 2);
  const uint32_t salient_chunks = (n_salient + 31) / 32;
  s.end = s.salient + uint64_t(tiles) * salient_chunks * 8 * kSalientWordsPerRowChunk;
  return s;
}

}  // namespace bitlens::quant::ptq161
