// Q2 chunk layout: 32 two-bit codes in 2 words; code j sits at bits 2*(j%16) of word j/16.
// Payload 2 bits per weight; with one (fp16 scale, fp16 offset) pair per group of G weights the
// format costs 2 + 32/G bpw (2.25 at G=128, 2.5 at G=64, 3.0 at G=32), plus row/column padding.
#pragma once

#include <cstdint>

namespace bitlens::quant::q2 {

inline constexpr uint32_t kBits = 2;
inline constexpr uint32_t kWordsPerChunk = 2;

inline void pack_chunk(const uint8_t* codes, uint32_t* words) {
  for (int w = 0; w < 2; ++w) {
    uint32_t v = 0;
    for (int j = 0; j < 16; ++j) v |= uint32_t(codes[16 * w + j] & 3u) << (2 * j);
    words[w] = v;
  }
}

inline void unpack_chunk(const uint32_t* words, uint8_t* codes) {
  for (int j = 0; j < 32; ++j) codes[j] = uint8_t((words[j / 16] >> (2 * (j % 16))) & 3u);
}

}  // namespace bitlens::quant::q2
