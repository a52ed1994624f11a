// Packed mat-mul for a batch of tokens (prefill, evaluation): y[t] = W_hat x[t]. Each invocation
// owns TPI tiles of 8 rows and TB tokens; the lanes of a subgroup own neighbouring tiles and the
// same tokens, so activation loads are uniform. Codes are decoded once per weight with the masks
// of include/weights.glsl and used for all TB tokens (each token's chunk of x pre-scaled once);
// group scales and offsets are applied per chunk. Activations are read through a texel buffer:
// on lavapipe storage-buffer loads are scalarized per lane and cost more than the arithmetic.
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
#include "include/weights.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TB = 4;   // tokens per invocation
layout(constant_id = 2) const uint TPI = 1;  // tiles per invocation

layout(push_constant) uniform PC { MatMulParams p; };
layout(binding = 1) uniform samplerBuffer x4;  // activations as vec4 texels
layout(binding = 2) buffer Y { float y[]; };

// Chunk c of token t's activations (columns past K read as zero) and their sum.
void load_x(uint t, uint c, out vec4 xv[8], out float sx) {
  const uint base = (p.x_offset + t * p.x_stride) / 4 + c * 8;
  [[unroll]] for (uint k = 0; k < 8; ++k) {
    const uint col = c * 32 + 4 * k;
    vec4 v = col < p.cols ? texelFetch(x4, int(base + k)) : vec4(0.0);
    if (col + 4 > p.cols) {
      if (col + 1 > p.cols) v.x = 0.0;
      if (col + 2 > p.cols) v.y = 0.0;
      if (col + 3 > p.cols) v.z = 0.0;
      v.w = 0.0;
    }
    xv[k] = v;
  }
  const vec4 s = ((xv[0] + xv[1]) + (xv[2] + xv[3])) + ((xv[4] + xv[5]) + (xv[6] + xv[7]));
  sx = (s.x + s.y) + (s.z + s.w);
}

void main() {
  const uint tiles = (p.rows + TILE_ROWS - 1) / TILE_ROWS;
  const uint tile0 = gl_GlobalInvocationID.x * TPI;
  const uint t0 = gl_GlobalInvocationID.y * TB;
  if (tile0 >= tiles || t0 >= p.batch) return;
  float acc[TPI * TB * TILE_ROWS];  // [tile][token][row]
  [[unroll]] for (uint k = 0; k < TPI * TB * TILE_ROWS; ++k) acc[k] = 0.0;
  for (uint c = 0; c < p.chunks; ++c) {
    // Each token's chunk of x, prepared for decoding; tokens past the batch repeat the last one.
    XChunk xc[TB];
    float sx[TB];
    [[unroll]] for (uint t = 0; t < TB; ++t) {
      vec4 xv[8];
      load_x(min(t0 + t, p.batch - 1), c, xv, sx[t]);
      xc[t] = prepare_x(xv);
    }
    [[unroll]] for (uint h = 0; h < TPI; ++h) {
      const uint tile = min(tile0 + h, tiles - 1);
      const uint tc = tile * p.chunks + c;
#if GROUPED
      vec2 dm[TILE_ROWS];
      tile_group_params(p.params_texel, tile * p.groups + c / p.chunks_per_group, dm);
#endif
#if WPC % 4 != 0
      // Q2 and Q3: the whole tile-chunk in a few texels.
      uvec4 tt[TEXELS_PER_TILE_CHUNK];
      [[unroll]] for (uint k = 0; k < TEXELS_PER_TILE_CHUNK; ++k)
        tt[k] = texelFetch(W, int(tc * TEXELS_PER_TILE_CHUNK + k));
#endif
      [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) {
        uint w[WPC];
#if WPC % 4 != 0
        [[unroll]] for (uint k = 0; k < WPC; ++k) w[k] = tt[(i * WPC + k) / 4][(i * WPC + k) % 4];
#else
        row_words(tc, i, w);
#endif
        [[unroll]] for (uint t = 0; t < TB; ++t) {
          const float d = words_dot(w, xc[t]);
          const uint a = (h * TB + t) * TILE_ROWS + i;
#if GROUPED
          acc[a] += dm[i].x * d - dm[i].y * sx[t];
#else
          acc[a] += d;
#endif
        }
      }
    }
  }
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
