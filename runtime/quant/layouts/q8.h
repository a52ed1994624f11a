// Q8 chunk layout: 32 eight-bit codes in 8 words; code j is byte j%4 of word j/4.
// Payload 8 bits per weight; with the per-group fp16 pair the format costs 8 + 32/G bpw.
#pragma once

#include <cstdint>

namespace bitlens::quant::q8 {

inline constexpr uint32_t kBits = 8;
inline constexpr uint32_t kWordsPerChunk = 8;

inline void pack_chunk(const uint8_t* codes, uint32_t* words) {
  for (int w = 0; w < 8; ++w)
    words[w] = uint32_t(codes[4 * w]) | uint32_t(codes[4 * w + 1]) << 8 | uint32_t(codes[4 * w + 2]) << 16 |
               uint32_t(codes[4 * w + 3]) << 24;
}

inline void unpack_chunk(const uint32_t* words, uint8_t* codes) {
  for (int j = 0; j < 32; ++j) codes[j] = uint8_t(words[j / 4] >> (8 * (j % 4)));
}

}  // namespace bitlens::quant::q8
