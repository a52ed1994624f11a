// Mat-mul y[t] = W_hat x[t] for a batch of tokens in the low-bit formats (include/lowbit.glsl),
// with the dispatch geometry and bindings of matmul.comp so that kernels::MatMul runs it
// unchanged: each invocation owns TPI tiles of 8 rows and TB tokens; lanes of a subgroup own
// neighbouring tiles and walk the chunks in order (uniform column groups). Each row of a
// tile-chunk is dequantized once and used for all TB tokens. Activations come through a texel
// buffer, as in matmul.comp.
//! variant matmul_mixed FORMAT_MIXED
//! variant matmul_ptq161 FORMAT_PTQ161
//! variant matmul_ternary FORMAT_TERNARY
//! variant matmul_tritplane FORMAT_TRITPLANE
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require

#include "params/matmul.h"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TB = 4;   // tokens per invocation
layout(constant_id = 2) const uint TPI = 1;  // tiles per invocation

layout(push_constant) uniform PC { MatMulParams p; };
layout(binding = 1) uniform samplerBuffer x4;  // activations as vec4 texels
layout(binding = 2) buffer Y { float y[]; };

#include "include/lowbit.glsl"

float x_at(uint tok, uint col) { return texelFetch(x4, int((p.x_offset + tok * p.x_stride) / 4 + col / 4))[col % 4]; }

void main() {
  const uint tiles = (p.rows + TILE_ROWS - 1) / TILE_ROWS;
  const uint tile0 = gl_GlobalInvocationID.x * TPI;
  const uint t0 = gl_GlobalInvocationID.y * TB;
  if (tile0 >= tiles || t0 >= p.batch) return;
  format_init();
  float acc[TPI * TB * TILE_ROWS];  // [tile][token][row]
  [[unroll]] for (uint k = 0; k < TPI * TB * TILE_ROWS; ++k) acc[k] = 0.0;
  TileParams tp[TPI];
  for (uint c = 0; c < p.chunks; ++c) {
    // x chunk of each token; columns past K and tokens past the batch read as zero.
    vec4 xv[TB * 8];
    [[unroll]] for (uint t = 0; t < TB; ++t) {
      const uint tok = min(t0 + t, p.batch - 1);
      const uint base = (p.x_offset + tok * p.x_stride) / 4 + c * 8;
      [[unroll]] for (uint k = 0; k < 8; ++k) {
        const uint col = c * 32 + 4 * k;
        vec4 v = col < p.cols ? texelFetch(x4, int(base + k)) : vec4(0.0);
        if (col + 4 > p.cols) {
          if (col + 1 > p.cols) v.x = 0.0;
          if (col + 2 > p.cols) v.y = 0.0;
          if (col + 3 > p.cols) v.z = 0.0;
          v.w = 0.0;
        }
        xv[t * 8 + k] = v;
      }
    }
    const ChunkShared cs = load_chunk_shared(c);
    const bool stale = c == 0u || params_stale(c);
    [[unroll]] for (uint h = 0; h < TPI; ++h) {
      const uint tile = min(tile0 + h, tiles - 1);
      if (stale) tp[h] = load_params(tile, c);
      const TileChunk tc = load_tile_chunk(tile, c, cs);
      [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) {
        vec4 wv[8];
        dequant_row(tc, tp[h], cs, i, wv);
        [[unroll]] for (uint t = 0; t < TB; ++t) {
          vec4 s = wv[0] * xv[t * 8];
          [[unroll]] for (uint k = 1; k < 8; ++k) s += wv[k] * xv[t * 8 + k];
          acc[(h * TB + t) * TILE_ROWS + i] += (s.x + s.y) + (s.z + s.w);
        }
      }
    }
  }
#ifdef HAS_SALIENT
  for (uint sc = 0; sc < g_salient_chunks; ++sc) {
    uint idx[32];
    salient_columns(sc, idx);
    vec4 xg[TB * 8];
    [[unroll]] for (uint t = 0; t < TB; ++t) {
      const uint tok = min(t0 + t, p.batch - 1);
      [[unroll]] for (uint k = 0; k < 8; ++k) {
        vec4 v;
        [[unroll]] for (uint e = 0; e < 4; ++e) v[e] = sc * 32u + 4u * k + e < g_salient ? x_at(tok, idx[4 * k + e]) : 0.0;
        xg[t * 8 + k] = v;
      }
    }
    [[unroll]] for (uint h = 0; h < TPI; ++h) {
      const SalientChunk s = load_salient_chunk(min(tile0 + h, tiles - 1), sc);
      [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) {
        float v[32];
        salient_row(s, tp[h], sc, i, v);
        [[unroll]] for (uint t = 0; t < TB; ++t) {
          vec4 a = vec4(0.0);
          [[unroll]] for (uint k = 0; k < 8; ++k) a += vec4(v[4 * k], v[4 * k + 1], v[4 * k + 2], v[4 * k + 3]) * xg[t * 8 + k];
          acc[(h * TB + t) * TILE_ROWS + i] += (a.x + a.y) + (a.z + a.w);
        }
      }
    }
  }
#endif
  [[unroll]] for (uint h = 0; h < TPI; ++h)
    [[unroll]] for (uint t = 0; t < TB; ++t) {
      if (tile0 + h >= tiles || t0 + t >= p.batch) break;
      [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) {
        const uint r = (tile0 + h) * TILE_ROWS + i;
        if (r < p.rows) {
          const uint o = p.y_offset + (t0 + t) * p.y_stride + r;
          const float v = acc[(h * TB + t) * TILE_ROWS + i];
          y[o] = p.accumulate != 0 ? y[o] + v : v;
        }
      }
    }
}
