// Packed mat-vec y = W_hat x for decode (batch 1). Two strategies, chosen per device:
//  X_UBO (CPU devices such as lavapipe): each invocation owns TPI tiles of 8 rows and walks all of
//    K; x comes from a uniform buffer with uniform indices, so it is loaded once and reused by
//    8*TPI rows, and group parameters are fetched once per group.
//  otherwise (GPUs): a subgroup owns one tile, its lanes split the chunks, a subgroup sum finishes.
//! variant matvec_cpu_q2 FORMAT_Q2 X_UBO
//! variant matvec_cpu_q3 FORMAT_Q3 X_UBO
//! variant matvec_cpu_q4 FORMAT_Q4 X_UBO
//! variant matvec_cpu_q8 FORMAT_Q8 X_UBO
//! variant matvec_cpu_f16 FORMAT_F16 X_UBO
//! variant matvec_cpu_f32 FORMAT_F32 X_UBO
//! variant matvec_q2 FORMAT_Q2
//! variant matvec_q3 FORMAT_Q3
//! variant matvec_q4 FORMAT_Q4
//! variant matvec_q8 FORMAT_Q8
//! variant matvec_f16 FORMAT_F16
//! variant matvec_f32 FORMAT_F32
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_arithmetic : require

#include "params/matmul.h"
#include "include/weights.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TPI = 1;       // tiles per invocation (X_UBO strategy)
layout(constant_id = 2) const uint X_VEC4S = 4096;  // vec4s in the bound x range (X_UBO strategy)

layout(push_constant) uniform PC { MatMulParams p; };
#ifdef X_UBO
layout(binding = 1) uniform XBlock { vec4 x4[X_VEC4S]; };
#define LOAD_X4(i) x4[(i)]
#else
layout(binding = 1) readonly buffer XBlock { vec4 x4[]; };
#define LOAD_X4(i) x4[(i)]
#endif
layout(binding = 2) buffer Y { float y[]; };

// Chunk c of x (x_offset is a multiple of 4 floats); columns past K read as zero.
void load_x(uint c, out vec4 xv[8], out float sx) {
  const uint base = p.x_offset / 4 + c * 8;
  if (c * 32 + 32 <= p.cols) {
    [[unroll]] for (uint k = 0; k < 8; ++k) xv[k] = LOAD_X4(base + k);
  } else {
    [[unroll]] for (uint k = 0; k < 8; ++k) {
      const uint col = c * 32 + 4 * k;
      xv[k] = col < p.cols ? LOAD_X4(base + k) : vec4(0.0);
      if (col + 4 > p.cols) {
        if (col + 1 > p.cols) xv[k].x = 0.0;
        if (col + 2 > p.cols) xv[k].y = 0.0;
        if (col + 3 > p.cols) xv[k].z = 0.0;
        xv[k].w = 0.0;
      }
    }
  }
  const vec4 s = ((xv[0] + xv[1]) + (xv[2] + xv[3])) + ((xv[4] + xv[5]) + (xv[6] + xv[7]));
  sx = (s.x + s.y) + (s.z + s.w);
}

void store(uint tile, uint i, float v) {
  const uint r = tile * TILE_ROWS + i;
  if (r < p.rows) {
    const uint o = p.y_offset + r;
    y[o] = p.accumulate != 0 ? y[o] + v : v;
  }
}

#ifdef X_UBO
void main() {
  const uint tiles = (p.rows + TILE_ROWS - 1) / TILE_ROWS;
  const uint tile0 = gl_GlobalInvocationID.x * TPI;
  if (tile0 >= tiles) return;
  float acc[TILE_ROWS * TPI];
  [[unroll]] for (uint i = 0; i < TILE_ROWS * TPI; ++i) acc[i] = 0.0;
#if GROUPED
  for (uint g = 0; g < p.groups; ++g) {
    float ga[TILE_ROWS * TPI];
    [[unroll]] for (uint i = 0; i < TILE_ROWS * TPI; ++i) ga[i] = 0.0;
    float gsx = 0.0;
    const uint c_end = min(p.chunks, (g + 1) * p.chunks_per_group);
    for (uint c = g * p.chunks_per_group; c < c_end; ++c) {
      vec4 xv[8];
      float sx;
      load_x(c, xv, sx);
      gsx += sx;
      const XChunk xc = prescale_x(xv);
      [[unroll]] for (uint h = 0; h < TPI; ++h) {
        const uint tile = min(tile0 + h, tiles - 1);
        float d[TILE_ROWS];
        tile_chunk_dot(tile * p.chunks + c, xc, d);
        [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) ga[h * TILE_ROWS + i] += d[i];
      }
    }
    [[unroll]] for (uint h = 0; h < TPI; ++h) {
      const uint tile = min(tile0 + h, tiles - 1);
      vec2 dm[TILE_ROWS];
      tile_group_params(p.params_texel, tile * p.groups + g, dm);
      [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i)
        acc[h * TILE_ROWS + i] += dm[i].x * ga[h * TILE_ROWS + i] - dm[i].y * gsx;
    }
  }
#else
  for (uint c = 0; c < p.chunks; ++c) {
    vec4 xv[8];
    float sx;
    load_x(c, xv, sx);
    const XChunk xc = prescale_x(xv);
    [[unroll]] for (uint h = 0; h < TPI; ++h) {
      const uint tile = min(tile0 + h, tiles - 1);
      float d[TILE_ROWS];
      tile_chunk_dot(tile * p.chunks + c, xc, d);
      [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) acc[h * TILE_ROWS + i] += d[i];
    }
  }
#endif
  [[unroll]] for (uint h = 0; h < TPI; ++h)
    if (tile0 + h < tiles)
      [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) store(tile0 + h, i, acc[h * TILE_ROWS + i]);
}
#else
void main() {
  const uint tiles = (p.rows + TILE_ROWS - 1) / TILE_ROWS;
  const uint tile = gl_WorkGroupID.x * (gl_WorkGroupSize.x / gl_SubgroupSize) + gl_SubgroupID;
  if (tile >= tiles) return;  // uniform across the subgroup
  float acc[TILE_ROWS];
  [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) acc[i] = 0.0;
  for (uint c = gl_SubgroupInvocationID; c < p.chunks; c += gl_SubgroupSize) {
    vec4 xv[8];
    float sx;
    load_x(c, xv, sx);
    float d[TILE_ROWS];
    tile_chunk_dot(tile * p.chunks + c, prescale_x(xv), d);
#if GROUPED
    vec2 dm[TILE_ROWS];
    tile_group_params(p.params_texel, tile * p.groups + c / p.chunks_per_group, dm);
    [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) acc[i] += dm[i].x * d[i] - dm[i].y * sx;
#else
    [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) acc[i] += d[i];
#endif
  }
  [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) {
    const float s = subgroupAdd(acc[i]);
    if (gl_SubgroupInvocationID == i) store(tile, i, s);
  }
}
#endif
