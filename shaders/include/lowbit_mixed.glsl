// Mixed-width column groups (layouts/mixed.h): a table word per group (width | prefix << 4), codes
// per tile in chunk layouts of the group's width (1: one bit each; 2: Q2; 3: Q3; 4: Q4), and the
// group formats' (scale, offset) words. The width is the same for every row and every tile, so its
// branch is uniform wherever the invocations of a subgroup work on the same column group.

uint g_table_words;  // words of the width table (a whole number of texels)
uint g_row_words;    // code words per row of a tile

struct ChunkShared {
  uint bits;   // width of the chunk's group
  uint word0;  // first word of the chunk in a tile, from the tile's first code word
};
struct TileParams {
  vec2 dm[TILE_ROWS];  // (scale, offset)
};
struct TileChunk {
  uint w[32];  // 8 rows x bits words
};

void format_init() {
  g_table_words = (p.groups + 4u) / 4u * 4u;
  g_row_words = fetch_word(p.groups) >> 4;
}

ChunkShared load_chunk_shared(uint c) {
  const uint g = c / p.chunks_per_group;
  const uint e = fetch_word(g);
  ChunkShared s;
  s.bits = e & 15u;
  s.word0 = 8u * ((e >> 4) + (c - g * p.chunks_per_group) * s.bits);
  return s;
}

bool params_stale(uint c) { return c % p.chunks_per_group == 0u; }

TileParams load_params(uint tile, uint c) {
  const uint tg = tile * p.groups + c / p.chunks_per_group;
  const uvec4 a = texelFetch(W, int(p.params_texel + 2u * tg));
  const uvec4 b = texelFetch(W, int(p.params_texel + 2u * tg + 1u));
  TileParams tp;
  [[unroll]] for (uint i = 0; i < 4; ++i) {
    tp.dm[i] = unpackHalf2x16(a[i]);
    tp.dm[i + 4] = unpackHalf2x16(b[i]);
  }
  return tp;
}

TileChunk load_tile_chunk(uint tile, uint c, ChunkShared cs) {
  const uint t0 = (g_table_words + tile * 8u * g_row_words + cs.word0) >> 2;  // 8-word aligned
  TileChunk tc;
  [[unroll]] for (uint k = 0; k < 8; ++k) {
    const uvec4 v = k < 2u * cs.bits ? texelFetch(W, int(t0 + k)) : uvec4(0u);
    tc.w[4 * k] = v.x;
    tc.w[4 * k + 1] = v.y;
    tc.w[4 * k + 2] = v.z;
    tc.w[4 * k + 3] = v.w;
  }
  return tc;
}

// Codes of row i for a compile-time width B (words i*B .. i*B+B-1 of the tile-chunk).
#define MIXED_CODES(B)                                                                   \
  [[unroll]] for (uint j = 0; j < 32; ++j) {                                             \
    uint q;                                                                              \
    if (B == 1u) q = (tc.w[i] >> j) & 1u;                                                \
    else if (B == 4u) q = (tc.w[4u * i + j / 8u] >> (4u * (j % 8u))) & 15u;              \
    else q = (tc.w[B * i + j / 16u] >> (2u * (j % 16u))) & 3u;                           \
    if (B == 3u) q |= ((tc.w[3u * i + 2u] >> j) & 1u) << 2;                              \
    v[j] = float(q);                                                                     \
  }

// d[i] = w_hat of row i . x over the chunk, one branch per width holding its loads, decoding and
// dots, so that no code array lives across the branches (lavapipe keeps such arrays in memory).
#define HAS_TILE_CHUNK_DOT 1
#define MIXED_DOT(B)                                                                     \
  {                                                                                      \
    TileChunk tc;                                                                        \
    FETCH_TEXELS(tc.w, t0, 2u * B)                                                       \
    [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) {                                    \
      float v[32];                                                                       \
      MIXED_CODES(B)                                                                     \
      vec4 s = vec4(0.0);                                                                \
      [[unroll]] for (uint k = 0; k < 8; ++k)                                            \
        s += vec4(v[4 * k], v[4 * k + 1], v[4 * k + 2], v[4 * k + 3]) * xv[k];          \
      d[i] = tp.dm[i].x * ((s.x + s.y) + (s.z + s.w)) - tp.dm[i].y * sx;                 \
    }                                                                                    \
  }

void tile_chunk_dot(uint tile, uint c, ChunkShared cs, TileParams tp, vec4 xv[8], float sx, out float d[TILE_ROWS]) {
  const uint t0 = (g_table_words + tile * 8u * g_row_words + cs.word0) >> 2;
  if (cs.bits == 1u) MIXED_DOT(1u)
  else if (cs.bits == 2u) MIXED_DOT(2u)
  else if (cs.bits == 3u) MIXED_DOT(3u)
  else MIXED_DOT(4u)
}

void dequant_row(TileChunk tc, TileParams tp, ChunkShared cs, uint i, out vec4 wv[8]) {
  float v[32];
  if (cs.bits == 1u) {
    MIXED_CODES(1u)
  } else if (cs.bits == 2u) {
    MIXED_CODES(2u)
  } else if (cs.bits == 3u) {
    MIXED_CODES(3u)
  } else {
    MIXED_CODES(4u)
  }
  [[unroll]] for (uint k = 0; k < 8; ++k)
    wv[k] = vec4(v[4 * k], v[4 * k + 1], v[4 * k + 2], v[4 * k + 3]) * tp.dm[i].x - tp.dm[i].y;
}
