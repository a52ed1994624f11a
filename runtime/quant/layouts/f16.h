// F16 chunk layout: 32 binary16 values in 16 words; value j is half j%2 of word j/2 (low half
// first). 16 bits per weight, no group parameters. Used for layers left unquantized.
#pragma once

#include <cstdint>

#include "common/fp16.h"

namespace bitlens::quant::f16 {

inline constexpr uint32_t kWordsPerChunk = 16;

inline void pack_chunk(const float* values, uint32_t* words) {
  for (int w = 0; w < 16; ++w)
    words[w] = uint32_t(float_to_half(values[2 * w])) | uint32_t(float_to_half(values[2 * w + 1])) << 16;
}

inline void unpack_chunk(const uint32_t* words, float* values) {
  for (int j = 0; j < 32; ++j) values[j] = half_to_float(uint16_t(words[j / 2] >> (16 * (j % 2))));
}

}  // namespace bitlens::quant::f16
