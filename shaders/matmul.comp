// Packed mat-mul for a batch of tokens (prefill, evaluation): y[t] = W_hat x[t]. Each invocation
// owns one tile of 8 rows and TB tokens; lanes of a subgroup own neighbouring tiles and the same
// tokens, so activation loads are uniform. Each row of a tile-chunk is dequantized once and used
// for all TB tokens.
//! variant matmul_q2 FORMAT_Q2
//! variant matmul_q3 FORMAT_Q3
//! variant matmul_q4 FORMAT_Q4
//! variant matmul_q8 FORMAT_Q8
//! variant matmul_f16 FORMAT_F16
//! variant matmul_f32 FORMAT_F32
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require

#include "params/matmul.h"
#include "include/dequant.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TB = 4;  // tokens per invocation

layout(push_constant) uniform PC { MatMulParams p; };
layout(binding = 1) readonly buffer XBlock { vec4 x4[]; };
layout(binding = 2) buffer Y { float y[]; };

void main() {
  const uint tiles = (p.rows + TILE_ROWS - 1) / TILE_ROWS;
  const uint tile = gl_GlobalInvocationID.x;
  const uint t0 = gl_GlobalInvocationID.y * TB;
  if (tile >= tiles || t0 >= p.batch) return;
  float acc[TB * TILE_ROWS];
  [[unroll]] for (uint k = 0; k < TB * TILE_ROWS; ++k) acc[k] = 0.0;
  for (uint c = 0; c < p.chunks; ++c) {
    // x chunk of each token; columns past K and tokens past the batch read as zero.
    vec4 xv[TB * 8];
    [[unroll]] for (uint t = 0; t < TB; ++t) {
      const uint tok = min(t0 + t, p.batch - 1);
      const uint base = (p.x_offset + tok * p.x_stride) / 4 + c * 8;
      [[unroll]] for (uint k = 0; k < 8; ++k) {
        const uint col = c * 32 + 4 * k;
        vec4 v = col < p.cols ? x4[base + k] : vec4(0.0);
        if (col + 4 > p.cols) {
          if (col + 1 > p.cols) v.x = 0.0;
          if (col + 2 > p.cols) v.y = 0.0;
          if (col + 3 > p.cols) v.z = 0.0;
          v.w = 0.0;
        }
        xv[t * 8 + k] = v;
      }
    }
#if GROUPED
    vec2 dm[TILE_ROWS];
    tile_group_params(p.params_texel, tile * p.groups + c / p.chunks_per_group, dm);
#endif
    [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) {
      vec4 wv[8];
#if GROUPED
      dequant_row(tile * p.chunks + c, i, dm[i], wv);
#else
      dequant_row(tile * p.chunks + c, i, vec2(1.0, 0.0), wv);
#endif
      [[unroll]] for (uint t = 0; t < TB; ++t) {
        vec4 s = wv[0] * xv[t * 8];
        [[unroll]] for (uint k = 1; k < 8; ++k) s += wv[k] * xv[t * 8 + k];
        acc[t * TILE_ROWS + i] += (s.x + s.y) + (s.z + s.w);
      }
    }
  }
  [[unroll]] for (uint t = 0; t < TB; ++t) {
    if (t0 + t >= p.batch) break;
    [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) {
      const uint r = tile * TILE_ROWS + i;
      if (r < p.rows) {
        const uint o = p.y_offset + (t0 + t) * p.y_stride + r;
        y[o] = p.accumulate != 0 ? y[o] + acc[t * TILE_ROWS + i] : acc[t * TILE_ROWS + i];
      }
    }
  }
}
