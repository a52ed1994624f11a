// Q4 chunk layout: 32 four-bit codes in 4 words; code j sits at bits 4*(j%8) of word j/8.
// Payload 4 bits per weight; with the per-group fp16 pair the format costs 4 + 32/G bpw.
#pragma once

#include <cstdint>

namespace bitlens::quant::q4 {

inline constexpr uint32_t kBits = 4;
inline constexpr uint32_t kWordsPerChunk = 4;

inline void pack_chunk(const uint8_t* codes, uint32_t* words) {
  for (int w = 0; w < 4; ++w) {
    uint32_t v = 0;
    for (int j = 0; j < 8; ++j) v |= uint32_t(codes[8 * w + j] & 15u) << (4 * j);
    words[w] = v;
  }
}

inline void unpack_chunk(const uint32_t* words, uint8_t* codes) {
  for (int j = 0; j < 32; ++j) codes[j] = uint8_t((words[j / 8] >> (4 * (j % 8))) & 15u);
}

}  // namespace bitlens::quant::q4
