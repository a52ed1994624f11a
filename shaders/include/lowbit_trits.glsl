// Ternary (w = a t) and trit-plane (w = a1 t1 + a2 t2) tile-chunks: 13 words per plane holding 256
// trits, 20 per word (16 in the last) as ceil(v * 2^32 / 3^n); digit k is the high word of 3 times
// the low word left by digit k-1 (layouts/ternary.h).

#if defined(FORMAT_TERNARY)
#define PLANE_WORDS 13u
#define TC_WORDS 13
#define TC_TEXELS 4
#else
#define PLANE_WORDS 13u
#define TC_WORDS 26
#define TC_TEXELS 7
#endif

const uint POW3[20] = uint[](1u, 3u, 9u, 27u, 81u, 243u, 729u, 2187u, 6561u, 19683u, 59049u, 177147u, 531441u,
                             1594323u, 4782969u, 14348907u, 43046721u, 129140163u, 387420489u, 1162261467u);

struct ChunkShared {
  uint unused;
};
struct TileParams {
  vec2 a[TILE_ROWS];  // ternary: (a, 0); trit-planes: (a1, a2)
};
struct TileChunk {
  uint w[TC_WORDS];
};

void format_init() {}

ChunkShared load_chunk_shared(uint c) {
  ChunkShared s;
  s.unused = c;
  return s;
}

bool params_stale(uint c) { return c % p.chunks_per_group == 0u; }

TileParams load_params(uint tile, uint c) {
  const uint tg = tile * p.groups + c / p.chunks_per_group;
  TileParams tp;
#if defined(FORMAT_TERNARY)
  const uvec4 v = texelFetch(W, int(p.params_texel + tg));
  [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) tp.a[i] = vec2(unpackHalf2x16(v[i / 2u])[i % 2u], 0.0);
#else
  const uvec4 v0 = texelFetch(W, int(p.params_texel + 2u * tg));
  const uvec4 v1 = texelFetch(W, int(p.params_texel + 2u * tg + 1u));
  [[unroll]] for (uint i = 0; i < 4; ++i) {
    tp.a[i] = unpackHalf2x16(v0[i]);
    tp.a[i + 4] = unpackHalf2x16(v1[i]);
  }
#endif
  return tp;
}

TileChunk load_tile_chunk(uint tile, uint c, ChunkShared cs) {
  const uint word0 = (tile * p.chunks + c) * uint(TC_WORDS);
  const uint s = word0 & 3u;
  uint all[4 * TC_TEXELS];
  FETCH_TEXELS(all, word0 >> 2, TC_TEXELS)
  TileChunk tc;
#if defined(FORMAT_TERNARY)
  [[unroll]] for (uint i = 0; i < TC_WORDS; ++i)
    tc.w[i] = s == 0u ? all[i] : s == 1u ? all[i + 1] : s == 2u ? all[i + 2] : all[i + 3];
#else
  // 26 k is even: the shift is 0 or 2.
  [[unroll]] for (uint i = 0; i < TC_WORDS; ++i) tc.w[i] = s == 0u ? all[i] : all[i + 2];
#endif
  return tc;
}

uint trits_in_word(uint w) { return w < PLANE_WORDS - 1u ? 20u : 16u; }

// Trits of row i (columns 0..31) of the plane starting at word `base` of the tile-chunk.
void decode_trit_row(TileChunk tc, uint base, uint i, out float v[32]) {
  const uint pos = 32u * i;
  uint wi = pos / 20u;
  const uint k = pos - 20u * wi;
  uint q = tc.w[base + wi] * POW3[k];
  uint left = trits_in_word(wi) - k;
  [[unroll]] for (uint j = 0; j < 32; ++j) {
    if (left == 0u) {
      ++wi;
      q = tc.w[base + wi];
      left = trits_in_word(wi);
    }
    uint hi, lo;
    umulExtended(q, 3u, hi, lo);
    q = lo;
    --left;
    v[j] = float(int(hi) - 1);
  }
}

struct Plane {
  uint w[13];
};

// The 13 words of a plane starting at word `word0` (any alignment: 4 texels and a shift).
Plane load_plane(uint word0) {
  const uint s = word0 & 3u;
  uint all[16];
  FETCH_TEXELS(all, word0 >> 2, 4)
  Plane pl;
  [[unroll]] for (uint i = 0; i < 13; ++i)
    pl.w[i] = s == 0u ? all[i] : s == 1u ? all[i + 1] : s == 2u ? all[i + 2] : all[i + 3];
  return pl;
}

// Sums sum_j digit_j x_j per row of a plane (digit = trit + 1), decoding the words in order:
// every trit's row and column are compile-time constants.
void plane_dot(Plane pl, vec4 xv[8], out float s[TILE_ROWS]) {
  [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) s[i] = 0.0;
  [[unroll]] for (uint w = 0; w < 13; ++w) {
    uint q = pl.w[w];
    [[unroll]] for (uint k = 0; k < 20; ++k) {
      if (w == 12 && k >= 16) break;  // the last word holds 16 trits
      uint hi, lo;
      umulExtended(q, 3u, hi, lo);
      q = lo;
      const uint pos = 20 * w + k;
      s[pos / 32] += float(hi) * xv[(pos % 32) / 4][pos % 4];
    }
  }
}

// d[i] = w_hat of row i . x over the chunk: a * sum_j t_j x_j per plane, t = digit - 1. Planes
// are loaded and decoded one at a time.
#define HAS_TILE_CHUNK_DOT 1
void tile_chunk_dot(uint tile, uint c, ChunkShared cs, TileParams tp, vec4 xv[8], float sx, out float d[TILE_ROWS]) {
  const uint word0 = (tile * p.chunks + c) * uint(TC_WORDS);
  float s1[TILE_ROWS];
  plane_dot(load_plane(word0), xv, s1);
  [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) d[i] = tp.a[i].x * (s1[i] - sx);
#if defined(FORMAT_TRITPLANE)
  plane_dot(load_plane(word0 + PLANE_WORDS), xv, s1);
  [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) d[i] += tp.a[i].y * (s1[i] - sx);
#endif
}

void dequant_row(TileChunk tc, TileParams tp, ChunkShared cs, uint i, out vec4 wv[8]) {
  float t1[32];
  decode_trit_row(tc, 0u, i, t1);
#if defined(FORMAT_TERNARY)
  [[unroll]] for (uint k = 0; k < 8; ++k) wv[k] = tp.a[i].x * vec4(t1[4 * k], t1[4 * k + 1], t1[4 * k + 2], t1[4 * k + 3]);
#else
  float t2[32];
  decode_trit_row(tc, PLANE_WORDS, i, t2);
  [[unroll]] for (uint k = 0; k < 8; ++k)
    wv[k] = tp.a[i].x * vec4(t1[4 * k], t1[4 * k + 1], t1[4 * k + 2], t1[4 * k + 3]) +
            tp.a[i].y * vec4(t2[4 * k], t2[4 * k + 1], t2[4 * k + 2], t2[4 * k + 3]);
#endif
}
