// F32 chunk layout: 32 binary32 values in 32 words, in order. 32 bits per weight; the reference
// format for layers left in full precision.
#pragma once

#include <cstdint>
#include <cstring>

namespace bitlens::quant::f32 {

inline constexpr uint32_t kWordsPerChunk = 32;

inline void pack_chunk(const float* values, uint32_t* words) { std::memcpy(words, values, 32 * sizeof(float)); }
inline void unpack_chunk(const uint32_t* words, float* values) { std::memcpy(values, words, 32 * sizeof(float)); }

}  // namespace bitlens::quant::f32
