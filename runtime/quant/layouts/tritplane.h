// Trit-plane (PTQTP) tile-chunk layout: w = a1 * t1 + a2 * t2 with two ternary planes. A tile-chunk
// is 26 words: plane t1 in words 0-12 and plane t2 in words 13-25, each exactly the ternary
// tile-chunk of layouts/ternary.h. Parameters: one word (fp16 a1 | fp16 a2 << 16) per row and group,
// laid out like the group formats' (scale, offset) words (8 words per tile and group).
// Payload 3.25 bits per weight; the format costs 3.25 + 32/G bpw (3.5 at G=128, 3.75 at G=64).
// The tile-chunk of index k = tile * chunks + chunk starts at word 26 k.
#pragma once

#include <cstdint>

#include "quant/layouts/ternary.h"

namespace bitlens::quant::tritplane {

inline constexpr uint32_t kTileChunkWords = 2 * ternary::kTileChunkWords;
inline constexpr uint32_t kParamWordsPerTileGroup = 8;

inline void pack_tile_chunk(const int8_t* t1, const int8_t* t2, uint32_t* words) {
  ternary::pack_tile_chunk(t1, words);
  ternary::pack_tile_chunk(t2, words + ternary::kTileChunkWords);
}

inline void unpack_tile_chunk(const uint32_t* words, int8_t* t1, int8_t* t2) {
  ternary::unpack_tile_chunk(words, t1);
  ternary::unpack_tile_chunk(words + ternary::kTileChunkWords, t2);
}

}  // namespace bitlens::quant::tritplane
