// Ternary tile-chunk layout: the 256 trits of a tile-chunk (8 rows x 32 columns, trit p = 32*row +
// column, stored as digit t + 1 in {0, 1, 2}) fill 13 words: words 0-11 hold 20 trits each, word 12
// the last 16. A word holding n digits d_0..d_{n-1} (d_0 most significant) of v = sum d_k 3^(n-1-k)
// stores ceil(v * 2^32 / 3^n); since 3^n < 2^32, digit k is then the high word of 3 * (the low word
// left by digit k-1): one 32x32->64-bit multiply per trit, no division (decode_word).
// Payload 13 * 32 / 256 = 1.625 bits per weight (5 trits a byte would give 1.6; a tile-chunk is
// the unit a kernel loads, and 256 trits need 51 bytes at best, so 52 bytes lose 0.025 bpw).
// With one fp16 scale per row and group (params: 8 halves = 4 words per tile and group) the format
// costs 1.625 + 16/G bpw (1.75 at G=128, 1.875 at G=64, 2.125 at G=32), plus row/column padding.
// The tile-chunk of index k = tile * chunks + chunk starts at word 13 k.
#pragma once

#include <cstdint>

namespace bitlens::quant::ternary {

inline constexpr uint32_t kTileChunkWords = 13;
inline constexpr uint32_t kTritsPerWord = 20;
inline constexpr uint32_t kTileChunkTrits = 256;
inline constexpr uint32_t kParamWordsPerTileGroup = 4;

inline constexpr uint32_t trits_in_word(uint32_t w) { return w + 1 < kTileChunkWords ? kTritsPerWord : 16; }

inline constexpr uint64_t pow3(uint32_t n) {
  uint64_t p = 1;
  for (uint32_t i = 0; i < n; ++i) p *= 3;
  return p;
}

// n digits in {0, 1, 2}, most significant first.
inline uint32_t encode_word(const uint8_t* digits, uint32_t n) {
  uint64_t v = 0;
  for (uint32_t k = 0; k < n; ++k) v = v * 3 + digits[k];
  const uint64_t p = pow3(n);
  return uint32_t(((v << 32) + p - 1) / p);
}

inline void decode_word(uint32_t word, uint32_t n, uint8_t* digits) {
  uint32_t q = word;
  for (uint32_t k = 0; k < n; ++k) {
    const uint64_t t = uint64_t(q) * 3u;
    digits[k] = uint8_t(t >> 32);
    q = uint32_t(t);
  }
}

// trits: 256 values in {-1, 0, 1}, index 32 * row + column.
inline void pack_tile_chunk(const int8_t* trits, uint32_t* words) {
  uint8_t d[kTritsPerWord];
  for (uint32_t w = 0, p = 0; w < kTileChunkWords; ++w) {
    const uint32_t n = trits_in_word(w);
    for (uint32_t k = 0; k < n; ++k) d[k] = uint8_t(trits[p + k] + 1);
    words[w] = encode_word(d, n);
    p += n;
  }
}

inline void unpack_tile_chunk(const uint32_t* words, int8_t* trits) {
  uint8_t d[kTritsPerWord];
  for (uint32_t w = 0, p = 0; w < kTileChunkWords; ++w) {
    const uint32_t n = trits_in_word(w);
    decode_word(words[w], n, d);
    for (uint32_t k = 0; k < n; ++k) trits[p + k] = int8_t(int(d[k]) - 1);
    p += n;
  }
}

}  // namespace bitlens::quant::ternary
