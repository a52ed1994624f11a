// PTQ1.61 (layouts/ptq161.h): one sign word per row and chunk over every column; per row
// (alpha, mu) for binarized weights and (sscale, soffset) for the 4-bit salient columns, whose low
// code bit is the sign-plane bit. The main pass applies alpha * (2b - 1) + mu off the salient
// columns and sscale * b on them; the salient pass adds 2 * sscale * h - soffset for the three
// high bits h of each salient weight, gathering x at the stored salient column indices.
#define HAS_SALIENT 1

uint g_salient;         // number of salient columns
uint g_mask_word;       // first word of the column mask
uint g_index_word;      // first word of the salient column indices (16 bits each)
uint g_salient_word;    // first word of the salient codes
uint g_salient_chunks;  // salient chunks of 32 columns

struct ChunkShared {
  uint mask;  // salient columns of the chunk
};
struct TileParams {
  vec2 am[TILE_ROWS];  // (alpha, mu)
  vec2 so[TILE_ROWS];  // (sscale, soffset)
};
struct TileChunk {
  uint w[TILE_ROWS];
};
struct SalientChunk {
  uint w[24];  // 8 rows x 3 words (Q3 layout of h)
};

void format_init() {
  const uvec4 m = texelFetch(W, int(p.params_texel));
  g_salient = m.x;
  g_mask_word = m.y;
  g_index_word = m.z;
  g_salient_word = m.w;
  g_salient_chunks = (g_salient + 31u) / 32u;
}

ChunkShared load_chunk_shared(uint c) {
  ChunkShared s;
  s.mask = fetch_word(g_mask_word + c);
  return s;
}

bool params_stale(uint c) { return c == 0u; }

TileParams load_params(uint tile, uint c) {
  const uint t0 = p.params_texel + 1u + 4u * tile;
  TileParams tp;
  [[unroll]] for (uint k = 0; k < 2; ++k) {
    const uvec4 a = texelFetch(W, int(t0 + k));
    const uvec4 b = texelFetch(W, int(t0 + 2u + k));
    [[unroll]] for (uint i = 0; i < 4; ++i) {
      tp.am[4 * k + i] = unpackHalf2x16(a[i]);
      tp.so[4 * k + i] = unpackHalf2x16(b[i]);
    }
  }
  return tp;
}

TileChunk load_tile_chunk(uint tile, uint c, ChunkShared cs) {
  const uint t0 = (tile * p.chunks + c) * 2u;
  TileChunk tc;
  FETCH_TEXELS(tc.w, t0, 2)
  return tc;
}

void dequant_row(TileChunk tc, TileParams tp, ChunkShared cs, uint i, out vec4 wv[8]) {
  const float hi = tp.am[i].y + tp.am[i].x, lo = tp.am[i].y - tp.am[i].x;
  float v[32];
  [[unroll]] for (uint j = 0; j < 32; ++j) {
    const bool b = ((tc.w[i] >> j) & 1u) != 0u;
    v[j] = ((cs.mask >> j) & 1u) != 0u ? (b ? tp.so[i].x : 0.0) : (b ? hi : lo);
  }
  [[unroll]] for (uint k = 0; k < 8; ++k) wv[k] = vec4(v[4 * k], v[4 * k + 1], v[4 * k + 2], v[4 * k + 3]);
}

// Column indices of salient chunk sc (entries past the salient count are garbage and unused).
void salient_columns(uint sc, out uint idx[32]) {
  uint w[16];
  FETCH_TEXELS(w, (g_index_word + 16u * sc) >> 2, 4)
  [[unroll]] for (uint k = 0; k < 32; ++k) idx[k] = (w[k / 2u] >> (16u * (k % 2u))) & 0xffffu;
}

SalientChunk load_salient_chunk(uint tile, uint sc) {
  SalientChunk s;
  FETCH_TEXELS(s.w, (g_salient_word + (tile * g_salient_chunks + sc) * 24u) >> 2, 6)
  return s;
}

// 2 * sscale * h - soffset of row i over the salient chunk's columns (0 past the salient count).
void salient_row(SalientChunk s, TileParams tp, uint sc, uint i, out float v[32]) {
  const float ss = 2.0 * tp.so[i].x, so = tp.so[i].y;
  [[unroll]] for (uint j = 0; j < 32; ++j) {
    const uint h = ((s.w[3u * i + j / 16u] >> (2u * (j % 16u))) & 3u) | (((s.w[3u * i + 2u] >> j) & 1u) << 2);
    v[j] = sc * 32u + j < g_salient ? ss * float(h) - so : 0.0;
  }
}
