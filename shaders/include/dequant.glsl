// Full dequantization of one row of a tile-chunk into 32 floats (w_hat = scale * q - offset for
// grouped formats), for kernels that reuse decoded weights across several tokens.
#ifndef DEQUANT_GLSL
#define DEQUANT_GLSL

#include "weights.glsl"

// Words of row i (0..7) of tile-chunk tc; only the first WPC entries are meaningful.
void fetch_row_words(uint tc, uint i, out uint w[WPC]) {
  const uint first = tc * 8 * WPC + i * WPC;  // word index
  [[unroll]] for (uint k = 0; k < WPC; ++k) {
    const uint word = first + k;
    w[k] = texelFetch(W, int(word / 4))[word % 4];
  }
}

// Row i of tile-chunk tc as 8 vec4 (columns 0..31), dequantized with dm = (scale, offset).
void dequant_row(uint tc, uint i, vec2 dm, out vec4 wv[8]) {
#if defined(FORMAT_Q4) || defined(FORMAT_Q8) || defined(FORMAT_F16) || defined(FORMAT_F32)
  // Rows start on texel boundaries: fetch whole texels.
  uvec4 t[WPC / 4];
  [[unroll]] for (uint k = 0; k < WPC / 4; ++k) t[k] = texelFetch(W, int(tc * 2 * WPC + i * (WPC / 4) + k));
#define WORD(k) t[(k) / 4][(k) % 4]
#else
  uint wr[WPC];
  fetch_row_words(tc, i, wr);
#define WORD(k) wr[k]
#endif
  float v[32];
#if defined(FORMAT_Q2) || defined(FORMAT_Q3)
  [[unroll]] for (uint j = 0; j < 32; ++j) {
    uint q = (WORD(j / 16) >> (2 * (j % 16))) & 3u;
#if defined(FORMAT_Q3)
    q |= ((WORD(2) >> j) & 1u) << 2;
#endif
    v[j] = float(q);
  }
#elif defined(FORMAT_Q4)
  [[unroll]] for (uint j = 0; j < 32; ++j) v[j] = float((WORD(j / 8) >> (4 * (j % 8))) & 15u);
#elif defined(FORMAT_Q8)
  [[unroll]] for (uint j = 0; j < 32; ++j) v[j] = float((WORD(j / 4) >> (8 * (j % 4))) & 255u);
#elif defined(FORMAT_F16)
  [[unroll]] for (uint j = 0; j < 32; j += 2) {
    const vec2 h = unpackHalf2x16(WORD(j / 2));
    v[j] = h.x;
    v[j + 1] = h.y;
  }
#else
  [[unroll]] for (uint j = 0; j < 32; ++j) v[j] = uintBitsToFloat(WORD(j));
#endif
#undef WORD
  [[unroll]] for (uint k = 0; k < 8; ++k) {
    wv[k] = vec4(v[4 * k], v[4 * k + 1], v[4 * k + 2], v[4 * k + 3]);
#if GROUPED
    wv[k] = wv[k] * dm.x - dm.y;
#endif
  }
}

#endif
