// Mat-vec y = W_hat x (batch 1) for the low-bit formats (include/lowbit.glsl), with the dispatch
// geometry and bindings of matvec.comp so that kernels::MatMul runs it unchanged:
//  X_UBO (CPU devices): each invocation owns TPI tiles of 8 rows and walks every chunk in order, so
//    all invocations decode the same column group at the same time; x comes from a uniform buffer.
//  otherwise (GPUs): a subgroup owns one tile and walks its column groups in order; inside a group
//    its lanes share out the (row, chunk) pairs, so the format's per-group branches stay uniform.
// Rows are dequantized to w_hat (as the scalar reference does) and dotted with x in fp32.
//! variant matvec_cpu_mixed FORMAT_MIXED X_UBO
//! variant matvec_cpu_ptq161 FORMAT_PTQ161 X_UBO
//! variant matvec_cpu_ternary FORMAT_TERNARY X_UBO
//! variant matvec_cpu_tritplane FORMAT_TRITPLANE X_UBO
//! variant matvec_mixed FORMAT_MIXED
//! variant matvec_ptq161 FORMAT_PTQ161
//! variant matvec_ternary FORMAT_TERNARY
//! variant matvec_tritplane FORMAT_TRITPLANE
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_arithmetic : require

#include "params/matmul.h"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TPI = 1;         // tiles per invocation (X_UBO strategy)
layout(constant_id = 2) const uint X_VEC4S = 4096;  // vec4s in the bound x range (X_UBO strategy)

layout(push_constant) uniform PC { MatMulParams p; };
#ifdef X_UBO
layout(binding = 1) uniform XBlock { vec4 x4[X_VEC4S]; };
#else
layout(binding = 1) readonly buffer XBlock { vec4 x4[]; };
#endif
layout(binding = 2) buffer Y { float y[]; };

#include "include/lowbit.glsl"

// Chunk c of x; columns past K read as zero.
void load_x(uint c, out vec4 xv[8]) {
  const uint base = p.x_offset / 4 + c * 8;
  [[unroll]] for (uint k = 0; k < 8; ++k) {
    const uint col = c * 32 + 4 * k;
    vec4 v = col < p.cols ? x4[base + k] : vec4(0.0);
    if (col + 4 > p.cols) {
      if (col + 1 > p.cols) v.x = 0.0;
      if (col + 2 > p.cols) v.y = 0.0;
      if (col + 3 > p.cols) v.z = 0.0;
      v.w = 0.0;
    }
    xv[k] = v;
  }
}

float x_at(uint col) { return x4[p.x_offset / 4 + col / 4][col % 4]; }

float dot32(vec4 wv[8], vec4 xv[8]) {
  vec4 s = wv[0] * xv[0];
  [[unroll]] for (uint k = 1; k < 8; ++k) s += wv[k] * xv[k];
  return (s.x + s.y) + (s.z + s.w);
}

void store(uint tile, uint i, float v) {
  const uint r = tile * TILE_ROWS + i;
  if (r < p.rows) {
    const uint o = p.y_offset + r;
    y[o] = p.accumulate != 0 ? y[o] + v : v;
  }
}

#ifdef HAS_SALIENT
// The salient pass of one tile over salient chunk sc, rows [i0, i1), x gathered at the columns.
void salient_pass(uint tile, uint sc, TileParams tp, uint i0, uint i1, inout float acc[TILE_ROWS]) {
  uint idx[32];
  salient_columns(sc, idx);
  vec4 xv[8];
  [[unroll]] for (uint k = 0; k < 8; ++k) {
    vec4 v;
    [[unroll]] for (uint e = 0; e < 4; ++e) v[e] = sc * 32u + 4u * k + e < g_salient ? x_at(idx[4 * k + e]) : 0.0;
    xv[k] = v;
  }
  const SalientChunk s = load_salient_chunk(tile, sc);
  for (uint i = i0; i < i1; ++i) {
    float v[32];
    salient_row(s, tp, sc, i, v);
    vec4 wv[8];
    [[unroll]] for (uint k = 0; k < 8; ++k) wv[k] = vec4(v[4 * k], v[4 * k + 1], v[4 * k + 2], v[4 * k + 3]);
    acc[i] += dot32(wv, xv);
  }
}
#endif

#ifdef X_UBO
void main() {
  const uint tiles = (p.rows + TILE_ROWS - 1) / TILE_ROWS;
  const uint tile0 = gl_GlobalInvocationID.x * TPI;
  if (tile0 >= tiles) return;
  format_init();
  float acc[TILE_ROWS * TPI];
  [[unroll]] for (uint i = 0; i < TILE_ROWS * TPI; ++i) acc[i] = 0.0;
  for (uint c = 0; c < p.chunks; ++c) {
    vec4 xv[8];
    load_x(c, xv);
    const vec4 xs = ((xv[0] + xv[1]) + (xv[2] + xv[3])) + ((xv[4] + xv[5]) + (xv[6] + xv[7]));
    const float sx = (xs.x + xs.y) + (xs.z + xs.w);
    const ChunkShared cs = load_chunk_shared(c);
    [[unroll]] for (uint h = 0; h < TPI; ++h) {
      const uint tile = min(tile0 + h, tiles - 1);
      const TileParams tp = load_params(tile, c);
#ifdef HAS_TILE_CHUNK_DOT
      float d[TILE_ROWS];
      tile_chunk_dot(tile, c, cs, tp, xv, sx, d);
      [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) acc[h * TILE_ROWS + i] += d[i];
#else
      const TileChunk tc = load_tile_chunk(tile, c, cs);
      [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) {
        vec4 wv[8];
        dequant_row(tc, tp, cs, i, wv);
        acc[h * TILE_ROWS + i] += dot32(wv, xv);
      }
#endif
    }
  }
  [[unroll]] for (uint h = 0; h < TPI; ++h) {
    if (tile0 + h >= tiles) break;
    float a[TILE_ROWS];
    [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) a[i] = acc[h * TILE_ROWS + i];
#ifdef HAS_SALIENT
    const TileParams tp = load_params(tile0 + h, 0u);
    for (uint sc = 0; sc < g_salient_chunks; ++sc) salient_pass(tile0 + h, sc, tp, 0u, TILE_ROWS, a);
#endif
    [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) store(tile0 + h, i, a[i]);
  }
}
#else
void main() {
  const uint tiles = (p.rows + TILE_ROWS - 1) / TILE_ROWS;
  const uint tile = gl_WorkGroupID.x * (gl_WorkGroupSize.x / gl_SubgroupSize) + gl_SubgroupID;
  if (tile >= tiles) return;  // uniform across the subgroup
  format_init();
  const uint lane = gl_SubgroupInvocationID, lanes = gl_SubgroupSize;
  float acc[TILE_ROWS];
  [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) acc[i] = 0.0;
  // Column groups in order; a group's (row, chunk) pairs are shared out among the lanes.
  const uint cpg = p.chunks_per_group == 0u ? p.chunks : p.chunks_per_group;
  for (uint c0 = 0; c0 < p.chunks; c0 += cpg) {
    const uint pairs = TILE_ROWS * min(cpg, p.chunks - c0);
    for (uint k = lane; k < pairs; k += lanes) {
      const uint c = c0 + k / TILE_ROWS, i = k % TILE_ROWS;
      vec4 xv[8];
      load_x(c, xv);
      const ChunkShared cs = load_chunk_shared(c);
      const TileParams tp = load_params(tile, c);
      const TileChunk tc = load_tile_chunk(tile, c, cs);
      vec4 wv[8];
      dequant_row(tc, tp, cs, i, wv);
      acc[i] += dot32(wv, xv);
    }
  }
#ifdef HAS_SALIENT
  const TileParams tp = load_params(tile, 0u);
  for (uint k = lane; k < TILE_ROWS * g_salient_chunks; k += lanes)
    salient_pass(tile, k / TILE_ROWS, tp, k % TILE_ROWS, k % TILE_ROWS + 1u, acc);
#endif
  [[unroll]] for (uint i = 0; i < TILE_ROWS; ++i) {
    const float s = subgroupAdd(acc[i]);
    if (lane == i) store(tile, i, s);
  }
}
#endif
