// Q3 chunk layout: 32 three-bit codes in 3 words as bit planes. Words 0-1 hold the low two bits
// exactly like Q2; word 2 holds the high bit of code j at bit j. Payload 3 bits per weight, exactly;
// with the per-group fp16 pair the format costs 3 + 32/G bpw.
#pragma once

#include <cstdint>

#include "quant/layouts/q2.h"

namespace bitlens::quant::q3 {

inline constexpr uint32_t kBits = 3;
inline constexpr uint32_t kWordsPerChunk = 3;

inline void pack_chunk(const uint8_t* codes, uint32_t* words) {
  uint8_t low[32];
  uint32_t high = 0;
  for (int j = 0; j < 32; ++j) {
    low[j] = codes[j] & 3u;
    high |= uint32_t((codes[j] >> 2) & 1u) << j;
  }
  q2::pack_chunk(low, words);
  words[2] = high;
}

inline void unpack_chunk(const uint32_t* words, uint8_t* codes) {
  q2::unpack_chunk(words, codes);
  for (int j = 0; j < 32; ++j) codes[j] = uint8_t(codes[j] | (((words[2] >> j) & 1u) << 2));
}

}  // namespace bitlens::quant::q3
