// Decoding packed weights (runtime/quant/layouts/*.h) inside kernels. Define one FORMAT_* before
// including. A tile-chunk is 8 rows x 32 columns; its codes are 8*WPC consecutive words starting
// at texel tc * 2*WPC of the weight texel buffer W (uvec4 texels).
//
// Codes are decoded without shifting: (word & (mask << s)) is q * 2^s, so the activations are
// pre-scaled once per chunk by 2^-s (prepare_x) and every weight costs an AND, a convert, a
// multiply and an add. Powers of two make this exact.
//
// With LUT defined (Q2 and Q3, for kernels whose whole subgroup shares one activation chunk), a
// row's code bits are read instead in windows of up to 3 bits: lane k of the subgroup holds, for
// every window, what the window's bits add to sum_j q_j x_j when they spell k, and
// subgroupShuffle(table, bits) looks it up (one permute on lavapipe). That is 11 lookups of 4
// operations for 16 two-bit codes, against 16 codes of 4 operations with masks. Needs a subgroup
// of at least 8 lanes, all active.
#ifndef WEIGHTS_GLSL
#define WEIGHTS_GLSL

#if defined(FORMAT_Q2)
#define WPC 2
#define GROUPED 1
#elif defined(FORMAT_Q3)
#define WPC 3
#define GROUPED 1
#elif defined(FORMAT_Q4)
#define WPC 4
#define GROUPED 1
#elif defined(FORMAT_Q8)
#define WPC 8
#define GROUPED 1
#elif defined(FORMAT_F16)
#define WPC 16
#define GROUPED 0
#elif defined(FORMAT_F32)
#define WPC 32
#define GROUPED 0
#else
#error "define one FORMAT_*"
#endif

#define TILE_ROWS 8
#define TEXELS_PER_TILE_CHUNK (2 * WPC)

layout(binding = 0) uniform usamplerBuffer W;

#if defined(LUT)
#if !defined(FORMAT_Q2) && !defined(FORMAT_Q3)
#error "LUT decoding is for FORMAT_Q2 and FORMAT_Q3"
#endif
#define LUT_WINDOWS 11  // per 32-bit word: ten 3-bit windows and a 2-bit one

// One chunk of activations as lookup tables: t for the two low-bit words, th for Q3's high bits.
struct XChunk {
  float t[2 * LUT_WINDOWS];
#if defined(FORMAT_Q3)
  float th[LUT_WINDOWS];
#endif
};

XChunk prepare_x(vec4 x[8]) {
  const uint k = gl_SubgroupInvocationID & 7u;
  const float f[3] = float[3](float(k & 1u), float((k >> 1) & 1u), float(k >> 2 & 1u));
  float xs[32];
  [[unroll]] for (uint j = 0; j < 8; ++j) {
    xs[4 * j] = x[j].x;
    xs[4 * j + 1] = x[j].y;
    xs[4 * j + 2] = x[j].z;
    xs[4 * j + 3] = x[j].w;
  }
  XChunk c;
  [[unroll]] for (uint word = 0; word < 2; ++word)
    [[unroll]] for (uint win = 0; win < LUT_WINDOWS; ++win) {
      // bit b of a code word is bit b % 2 of code b / 2
      float t = 0.0;
      [[unroll]] for (uint i = 0; i < 3; ++i) {
        const uint b = 3 * win + i;
        if (b < 32) t += f[i] * (float(1u << (b % 2)) * xs[16 * word + b / 2]);
      }
      c.t[word * LUT_WINDOWS + win] = t;
    }
#if defined(FORMAT_Q3)
  [[unroll]] for (uint win = 0; win < LUT_WINDOWS; ++win) {
    // bit b of the high-bit word is bit 2 (worth 4) of code b
    float t = 0.0;
    [[unroll]] for (uint i = 0; i < 3; ++i) {
      const uint b = 3 * win + i;
      if (b < 32) t += f[i] * (4.0 * xs[b]);
    }
    c.th[win] = t;
  }
#endif
  return c;
}

// sum over the windows of word w of table[first + window](bits of the window).
#define LUT_WORD_DOT(w, table, first)                                                      \
  (((subgroupShuffle(table[(first)], (w) & 7u) + subgroupShuffle(table[(first) + 1], ((w) >> 3) & 7u)) + \
    (subgroupShuffle(table[(first) + 2], ((w) >> 6) & 7u) + subgroupShuffle(table[(first) + 3], ((w) >> 9) & 7u))) + \
   ((subgroupShuffle(table[(first) + 4], ((w) >> 12) & 7u) + subgroupShuffle(table[(first) + 5], ((w) >> 15) & 7u)) + \
    (subgroupShuffle(table[(first) + 6], ((w) >> 18) & 7u) + subgroupShuffle(table[(first) + 7], ((w) >> 21) & 7u))) + \
   ((subgroupShuffle(table[(first) + 8], ((w) >> 24) & 7u) + subgroupShuffle(table[(first) + 9], ((w) >> 27) & 7u)) + \
    subgroupShuffle(table[(first) + 10], (w) >> 30)))
#else
// One chunk of activations prepared for decoding: xs pre-scaled for the code layout and, for
// Q3, xh pre-scaled for the high-bit plane.
struct XChunk {
  vec4 xs[8];
#if defined(FORMAT_Q3)
  vec4 xh[8];
#endif
};

XChunk prepare_x(vec4 x[8]) {
  XChunk c;
#if defined(FORMAT_Q2) || defined(FORMAT_Q3)
  // code j of a word (j = 0..15) sits at bit 2j: scale 4^-j; the last one is shifted down.
  const vec4 s0 = vec4(1.0, 0.25, 0.0625, 0.015625);
  [[unroll]] for (uint k = 0; k < 8; ++k) c.xs[k] = x[k] * (s0 * exp2(-8.0 * float(k % 4)));
  c.xs[3].w = x[3].w;
  c.xs[7].w = x[7].w;
#elif defined(FORMAT_Q4)
  const vec4 s0 = vec4(1.0, 0.0625, 0.00390625, 0.000244140625);
  [[unroll]] for (uint k = 0; k < 8; k += 2) {
    c.xs[k] = x[k] * s0;
    c.xs[k + 1] = x[k + 1] * (s0 * exp2(-16.0));
    c.xs[k + 1].w = x[k + 1].w;
  }
#elif defined(FORMAT_Q8)
  const vec4 s0 = vec4(1.0, 0.00390625, 0.0000152587890625, 1.0);
  [[unroll]] for (uint k = 0; k < 8; ++k) c.xs[k] = x[k] * s0;
#else
  [[unroll]] for (uint k = 0; k < 8; ++k) c.xs[k] = x[k];
#endif
#if defined(FORMAT_Q3)
  // high bit of code j sits at bit j of word 2 and is worth 4: scale 4 * 2^-j; the last shifted.
  const vec4 h0 = vec4(4.0, 2.0, 1.0, 0.5);
  [[unroll]] for (uint k = 0; k < 8; ++k) c.xh[k] = x[k] * (h0 * exp2(-4.0 * float(k)));
  c.xh[7].w = 4.0 * x[7].w;
#endif
  return c;
}
#endif

float masked(uint w, uint mask) { return float(int(w & mask)); }

#if defined(FORMAT_Q2) || defined(FORMAT_Q3)
float dot16_q2(uint w, vec4 a, vec4 b, vec4 c, vec4 d) {
  return masked(w, 0x3u) * a.x + masked(w, 0xCu) * a.y + masked(w, 0x30u) * a.z + masked(w, 0xC0u) * a.w +
         masked(w, 0x300u) * b.x + masked(w, 0xC00u) * b.y + masked(w, 0x3000u) * b.z + masked(w, 0xC000u) * b.w +
         masked(w, 0x30000u) * c.x + masked(w, 0xC0000u) * c.y + masked(w, 0x300000u) * c.z +
         masked(w, 0xC00000u) * c.w + masked(w, 0x3000000u) * d.x + masked(w, 0xC000000u) * d.y +
         masked(w, 0x30000000u) * d.z + float(w >> 30) * d.w;
}
#endif

#if defined(FORMAT_Q3)
float dot8_bits(uint w, uint base, vec4 a, vec4 b) {
  return masked(w, 1u << base) * a.x + masked(w, 2u << base) * a.y + masked(w, 4u << base) * a.z +
         masked(w, 8u << base) * a.w + masked(w, 16u << base) * b.x + masked(w, 32u << base) * b.y +
         masked(w, 64u << base) * b.z + (base == 24 ? float(w >> 31) : masked(w, 128u << base)) * b.w;
}
#endif

#if defined(FORMAT_Q4)
float dot8_q4(uint w, vec4 a, vec4 b) {
  return masked(w, 0xFu) * a.x + masked(w, 0xF0u) * a.y + masked(w, 0xF00u) * a.z + masked(w, 0xF000u) * a.w +
         masked(w, 0xF0000u) * b.x + masked(w, 0xF00000u) * b.y + masked(w, 0xF000000u) * b.z + float(w >> 28) * b.w;
}
#endif

#if defined(FORMAT_Q8)
float dot4_q8(uint w, vec4 a) {
  return masked(w, 0xFFu) * a.x + masked(w, 0xFF00u) * a.y + masked(w, 0xFF0000u) * a.z + float(w >> 24) * a.w;
}
#endif

#if !defined(LUT)
// The WPC words of row i of tile-chunk tc: whole texels for Q4 and wider, single words otherwise.
void row_words(uint tc, uint i, out uint w[WPC]) {
#if WPC % 4 == 0
  [[unroll]] for (uint t = 0; t < WPC / 4; ++t) {
    const uvec4 v = texelFetch(W, int(tc * TEXELS_PER_TILE_CHUNK + i * (WPC / 4) + t));
    w[4 * t] = v.x;
    w[4 * t + 1] = v.y;
    w[4 * t + 2] = v.z;
    w[4 * t + 3] = v.w;
  }
#else
  [[unroll]] for (uint k = 0; k < WPC; ++k) {
    const uint word = tc * 8 * WPC + i * WPC + k;
    w[k] = texelFetch(W, int(word / 4))[word % 4];
  }
#endif
}

// sum_j q_j x_j (grouped formats) or sum_j w_j x_j of one row's chunk, from its words.
float words_dot(uint w[WPC], XChunk x) {
#if defined(FORMAT_Q2) || defined(FORMAT_Q3)
  float s = dot16_q2(w[0], x.xs[0], x.xs[1], x.xs[2], x.xs[3]) + dot16_q2(w[1], x.xs[4], x.xs[5], x.xs[6], x.xs[7]);
#if defined(FORMAT_Q3)
  s += dot8_bits(w[2], 0, x.xh[0], x.xh[1]) + dot8_bits(w[2], 8, x.xh[2], x.xh[3]) +
       dot8_bits(w[2], 16, x.xh[4], x.xh[5]) + dot8_bits(w[2], 24, x.xh[6], x.xh[7]);
#endif
  return s;
#elif defined(FORMAT_Q4)
  return (dot8_q4(w[0], x.xs[0], x.xs[1]) + dot8_q4(w[1], x.xs[2], x.xs[3])) +
         (dot8_q4(w[2], x.xs[4], x.xs[5]) + dot8_q4(w[3], x.xs[6], x.xs[7]));
#elif defined(FORMAT_Q8)
  float s = 0.0;
  [[unroll]] for (uint k = 0; k < 8; ++k) s += dot4_q8(w[k], x.xs[k]);
  return s;
#elif defined(FORMAT_F16)
  float s = 0.0;
  [[unroll]] for (uint k = 0; k < 8; ++k) s += dot(vec4(unpackHalf2x16(w[2 * k]), unpackHalf2x16(w[2 * k + 1])), x.xs[k]);
  return s;
#else
  float s = 0.0;
  [[unroll]] for (uint k = 0; k < 8; ++k)
    s += dot(uintBitsToFloat(uvec4(w[4 * k], w[4 * k + 1], w[4 * k + 2], w[4 * k + 3])), x.xs[k]);
  return s;
#endif
}
#endif

// Dot products of the 8 rows of tile-chunk `tc` with the chunk x (for grouped formats the code
// part sum_j q_ij x_j; for float formats sum_j w_ij x_j).
void tile_chunk_dot(uint tc, XChunk x, out float d[TILE_ROWS]) {
  const uint base = tc * TEXELS_PER_TILE_CHUNK;
#if defined(FORMAT_Q2) || defined(FORMAT_Q3)
  uint w[8 * WPC];
  [[unroll]] for (uint t = 0; t < TEXELS_PER_TILE_CHUNK; ++t) {
    const uvec4 v = texelFetch(W, int(base + t));
    w[4 * t] = v.x;
    w[4 * t + 1] = v.y;
    w[4 * t + 2] = v.z;
    w[4 * t + 3] = v.w;
  }
  [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) {
#if defined(LUT)
    float s = LUT_WORD_DOT(w[i * WPC], x.t, 0) + LUT_WORD_DOT(w[i * WPC + 1], x.t, LUT_WINDOWS);
#if defined(FORMAT_Q3)
    s += LUT_WORD_DOT(w[i * WPC + 2], x.th, 0);
#endif
#else
    float s = dot16_q2(w[i * WPC], x.xs[0], x.xs[1], x.xs[2], x.xs[3]) +
              dot16_q2(w[i * WPC + 1], x.xs[4], x.xs[5], x.xs[6], x.xs[7]);
#if defined(FORMAT_Q3)
    const uint h = w[i * WPC + 2];
    s += dot8_bits(h, 0, x.xh[0], x.xh[1]) + dot8_bits(h, 8, x.xh[2], x.xh[3]) + dot8_bits(h, 16, x.xh[4], x.xh[5]) +
         dot8_bits(h, 24, x.xh[6], x.xh[7]);
#endif
#endif
    d[i] = s;
  }
#else
  // All texels of the tile-chunk first: on lavapipe a fetch is a call, and a call in the middle
  // of the arithmetic spills every live vector register around it.
  uvec4 tv[TEXELS_PER_TILE_CHUNK];
  [[unroll]] for (uint t = 0; t < TEXELS_PER_TILE_CHUNK; ++t) tv[t] = texelFetch(W, int(base + t));
  [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) {
    float s = 0.0;
    [[unroll]] for (uint t = 0; t < WPC / 4; ++t) {
      const uvec4 v = tv[i * (WPC / 4) + t];
#if defined(FORMAT_Q4)
      s += dot8_q4(v.x, x.xs[0], x.xs[1]) + dot8_q4(v.y, x.xs[2], x.xs[3]) + dot8_q4(v.z, x.xs[4], x.xs[5]) +
           dot8_q4(v.w, x.xs[6], x.xs[7]);
#elif defined(FORMAT_Q8)
      s += dot4_q8(v.x, x.xs[4 * t]) + dot4_q8(v.y, x.xs[4 * t + 1]) + dot4_q8(v.z, x.xs[4 * t + 2]) +
           dot4_q8(v.w, x.xs[4 * t + 3]);
#elif defined(FORMAT_F16)
      const vec4 a = vec4(unpackHalf2x16(v.x), unpackHalf2x16(v.y));
      const vec4 b = vec4(unpackHalf2x16(v.z), unpackHalf2x16(v.w));
      s += dot(a, x.xs[2 * t]) + dot(b, x.xs[2 * t + 1]);
#else
      s += dot(uintBitsToFloat(v), x.xs[t]);
#endif
    }
    d[i] = s;
  }
#endif
}

#if GROUPED
// (scale, offset) of the 8 rows of a tile for one group: two texels of packed half pairs.
void tile_group_params(uint params_texel, uint tile_group, out vec2 dm[TILE_ROWS]) {
  const uvec4 a = texelFetch(W, int(params_texel + 2 * tile_group));
  const uvec4 b = texelFetch(W, int(params_texel + 2 * tile_group + 1));
  dm[0] = unpackHalf2x16(a.x);
  dm[1] = unpackHalf2x16(a.y);
  dm[2] = unpackHalf2x16(a.z);
  dm[3] = unpackHalf2x16(a.w);
  dm[4] = unpackHalf2x16(b.x);
  dm[5] = unpackHalf2x16(b.y);
  dm[6] = unpackHalf2x16(b.z);
  dm[7] = unpackHalf2x16(b.w);
}
#endif

#endif
