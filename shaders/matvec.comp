// Packed mat-vec y = W_hat x for decode (batch 1). Two strategies, chosen per device:
//  X_UBO (CPU devices such as lavapipe): each invocation owns TPI tiles of 8 rows and walks all of
//    K; x comes from a uniform buffer with uniform indices, so it is loaded once and reused by
//    8*TPI rows, and group parameters are fetched once per group. Q2 and Q3 decode through
//    subgroup lookup tables (LUT, include/weights.glsl). With X_SHUFFLE (devices with subgroup
//    shuffles of 8 or more lanes) lane l loads only vec4 l % 8 of a chunk and shuffles hand all
//    8 to every lane: lavapipe turns a uniform-buffer load whose index is a loop variable into a
//    per-lane gather, so this is 8x fewer gathers (docs/PERFORMANCE.md, "How lavapipe runs").
//    These kernels also apply the RMSNorm or the SwiGLU product that precedes a layer to x as
//    they load it (MatMulParams.x_transform), which saves a dispatch per norm and per SwiGLU in a
//    decode step. With X_ROTATE they then rotate x as well (the layer's randomized Hadamard input
//    rotation, include/hadamard_lanes.glsl): each workgroup stages the transformed row in shared
//    memory, its first subgroup rotates it there (in registers, slot r of lane l being element
//    8 r + l), and every chunk is read from there, which saves the copy and the rotation dispatch
//    of a rotated layer.
//  otherwise (GPUs): a workgroup owns one tile and its subgroups split K. Lane l of a subgroup
//    takes row l % 8 of the tile and every (subgroups * lanes / 8)-th chunk, so the lanes of a
//    subgroup read consecutive texels (4 consecutive tile-chunks for 32 lanes and Q4); subgroup
//    sums and a small shared-memory sum across subgroups finish each row.
//! variant matvec_cpu_q2 FORMAT_Q2 X_UBO
//! variant matvec_cpu_q3 FORMAT_Q3 X_UBO
//! variant matvec_cpu_q4 FORMAT_Q4 X_UBO
//! variant matvec_cpu_q8 FORMAT_Q8 X_UBO
//! variant matvec_cpu_f16 FORMAT_F16 X_UBO
//! variant matvec_cpu_f32 FORMAT_F32 X_UBO
//! variant matvec_cpu_shuffle_q2 FORMAT_Q2 X_UBO X_SHUFFLE
//! variant matvec_cpu_shuffle_q3 FORMAT_Q3 X_UBO X_SHUFFLE
//! variant matvec_cpu_shuffle_q4 FORMAT_Q4 X_UBO X_SHUFFLE
//! variant matvec_cpu_shuffle_q8 FORMAT_Q8 X_UBO X_SHUFFLE
//! variant matvec_cpu_shuffle_f16 FORMAT_F16 X_UBO X_SHUFFLE
//! variant matvec_cpu_shuffle_f32 FORMAT_F32 X_UBO X_SHUFFLE
//! variant matvec_lut_q2 FORMAT_Q2 X_UBO X_SHUFFLE LUT
//! variant matvec_lut_q3 FORMAT_Q3 X_UBO X_SHUFFLE LUT
//! variant matvec_rot_q2 FORMAT_Q2 X_UBO X_SHUFFLE X_ROTATE
//! variant matvec_rot_q3 FORMAT_Q3 X_UBO X_SHUFFLE X_ROTATE
//! variant matvec_rot_q4 FORMAT_Q4 X_UBO X_SHUFFLE X_ROTATE
//! variant matvec_rot_q8 FORMAT_Q8 X_UBO X_SHUFFLE X_ROTATE
//! variant matvec_rot_f16 FORMAT_F16 X_UBO X_SHUFFLE X_ROTATE
//! variant matvec_rot_f32 FORMAT_F32 X_UBO X_SHUFFLE X_ROTATE
//! variant matvec_lut_rot_q2 FORMAT_Q2 X_UBO X_SHUFFLE LUT X_ROTATE
//! variant matvec_lut_rot_q3 FORMAT_Q3 X_UBO X_SHUFFLE LUT X_ROTATE
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
#ifdef X_SHUFFLE
#extension GL_KHR_shader_subgroup_shuffle : require
#endif
#ifdef X_ROTATE
#extension GL_KHR_shader_subgroup_basic : require
#endif

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
#ifdef X_SHUFFLE
layout(binding = 3) uniform samplerBuffer NormW;  // RMSNorm weights (x_transform 1), vec4 texels
float rms_scale = 1.0;                             // 1 / sqrt(mean(x^2) + eps) (x_transform 1)
#endif

// vec4 i of the row of K floats at float `offset` (a multiple of 4) of x; columns past K read as
// zero.
vec4 row_vec4(uint offset, uint i) {
  const uint col = 4 * i;
  vec4 v = col < p.cols ? LOAD_X4(offset / 4 + i) : vec4(0.0);
  if (col + 4 > p.cols) {
    if (col + 1 > p.cols) v.x = 0.0;
    if (col + 2 > p.cols) v.y = 0.0;
    if (col + 3 > p.cols) v.z = 0.0;
    v.w = 0.0;
  }
  return v;
}

// vec4 k of chunk c of x, transformed (X_SHUFFLE kernels).
vec4 x_vec4(uint c, uint k) {
  vec4 v = row_vec4(p.x_offset, c * 8 + k);
#ifdef X_SHUFFLE
  if (p.x_transform == 1u) {
    if (32 * c + 4 * k < p.cols) v *= rms_scale * texelFetch(NormW, int(p.x_transform_offset / 4 + c * 8 + k));
  } else if (p.x_transform == 2u) {
    v = v / (1.0 + exp(-v)) * row_vec4(p.x_offset + p.x_transform_offset, c * 8 + k);
  }
#endif
  return v;
}

#ifdef X_ROTATE
// The input rotation (forward, n = cols = M * 2^k with 2^k >= 8; one element per slot, W = 1).
#define W 1
layout(constant_id = 3) const uint M = 1;        // Hadamard factor m
layout(constant_id = 4) const uint LOG2_RB = 0;  // log2(2^k / 8)
layout(constant_id = 5) const uint N = 8;        // the row width (cols)
layout(binding = 4) uniform Signs { uvec4 sign_words[64]; };  // bit i set: element i negated
shared float x_rotated[N];
uint rotation_lane;  // 0..7: this lane's place in the rotation's layout
#define HAD_LOAD(r) x_rotated[8 * (r) + rotation_lane]
#define HAD_STORE(r, v) \
  if (gl_SubgroupInvocationID < 8) x_rotated[8 * (r) + rotation_lane] = (v)
#include "include/hadamard_lanes.glsl"

// x_rotated <- the rotation of the transformed row: the workgroup stages the row, then the first
// subgroup rotates it in place (each lane reads and writes only its own slots).
void rotate_x() {
  for (uint i = gl_LocalInvocationID.x; i < N / 4; i += gl_WorkGroupSize.x) {
    const vec4 v = x_vec4(i / 8, i % 8);
    x_rotated[4 * i] = v.x;
    x_rotated[4 * i + 1] = v.y;
    x_rotated[4 * i + 2] = v.z;
    x_rotated[4 * i + 3] = v.w;
  }
  barrier();
  rotation_lane = gl_SubgroupInvocationID & 7u;
  if (gl_SubgroupID == 0) hadamard_lanes(rotation_lane, ~0u, 0u, 1.0 / sqrt(float(N)));
  barrier();
}

// vec4 k of chunk c of the rotated x (zero past N).
vec4 rotated_vec4(uint c, uint k) {
  const uint e = 32 * c + 4 * k;  // N is a multiple of 8: a vec4 lies wholly inside or outside
  return e < N ? vec4(x_rotated[e], x_rotated[e + 1], x_rotated[e + 2], x_rotated[e + 3]) : vec4(0.0);
}
#define X_LANE_VEC4 rotated_vec4
#else
#define X_LANE_VEC4 x_vec4
#endif

#ifdef X_SHUFFLE
// 1 / sqrt(mean(x^2) + eps) of the row: lane l sums vec4s l, l + 8, ... and xor shuffles add up
// the 8 lanes (with fewer lanes, every lane sums the whole row).
float row_rms_scale() {
  const uint n4 = (p.cols + 3) / 4;
  float ss = 0.0;
  if (gl_SubgroupSize >= 8) {
    for (uint i = gl_SubgroupInvocationID & 7u; i < n4; i += 8) {
      const vec4 v = row_vec4(p.x_offset, i);
      ss += dot(v, v);
    }
    ss += subgroupShuffleXor(ss, 4u);
    ss += subgroupShuffleXor(ss, 2u);
    ss += subgroupShuffleXor(ss, 1u);
  } else {
    for (uint i = 0; i < n4; ++i) {
      const vec4 v = row_vec4(p.x_offset, i);
      ss += dot(v, v);
    }
  }
  return inversesqrt(ss / float(p.cols) + p.eps);
}
#endif

// Chunk c of x and the sum of its elements.
void load_x(uint c, out vec4 xv[8], out float sx) {
#ifdef X_SHUFFLE
  if (gl_SubgroupSize >= 8) {
    const vec4 mine = X_LANE_VEC4(c, gl_SubgroupInvocationID & 7u);
    xv[0] = subgroupShuffle(mine, 0u);
    xv[1] = subgroupShuffle(mine, 1u);
    xv[2] = subgroupShuffle(mine, 2u);
    xv[3] = subgroupShuffle(mine, 3u);
    xv[4] = subgroupShuffle(mine, 4u);
    xv[5] = subgroupShuffle(mine, 5u);
    xv[6] = subgroupShuffle(mine, 6u);
    xv[7] = subgroupShuffle(mine, 7u);
  } else if (p.x_transform != 0u) {
    [[unroll]] for (uint k = 0; k < 8; ++k) xv[k] = x_vec4(c, k);
  } else
#endif
  if (c * 32 + 32 <= p.cols) {
    [[unroll]] for (uint k = 0; k < 8; ++k) xv[k] = LOAD_X4(p.x_offset / 4 + c * 8 + k);
  } else {
    [[unroll]] for (uint k = 0; k < 8; ++k) xv[k] = x_vec4(c, k);
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
  // Invocations past the last tile run on (clamped to the last tile) and store nothing: lookup
  // tables and shuffled activations need every lane of the subgroup.
  const uint tiles = (p.rows + TILE_ROWS - 1) / TILE_ROWS;
  const uint tile0 = gl_GlobalInvocationID.x * TPI;
#ifdef X_SHUFFLE
  if (p.x_transform == 1u) rms_scale = row_rms_scale();
#endif
#ifdef X_ROTATE
  rotate_x();
#endif
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
      const XChunk xc = prepare_x(xv);
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
    const XChunk xc = prepare_x(xv);
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
shared float partial[64][TILE_ROWS];  // per subgroup, per row of the tile

void main() {
  const uint tile = gl_WorkGroupID.x;
  const uint lanes = gl_SubgroupSize;  // a multiple of 8
  const uint i = gl_SubgroupInvocationID % TILE_ROWS;
  const uint slot = gl_SubgroupID * (lanes / TILE_ROWS) + gl_SubgroupInvocationID / TILE_ROWS;
  const uint slots = gl_NumSubgroups * (lanes / TILE_ROWS);
  float acc = 0.0;
  for (uint c = slot; c < p.chunks; c += slots) {
    vec4 xv[8];
    float sx;
    load_x(c, xv, sx);
    uint w[WPC];
    row_words(tile * p.chunks + c, i, w);
    const float d = words_dot(w, prepare_x(xv));
#if GROUPED
    const uint word = p.params_texel * 4 + (tile * p.groups + c / p.chunks_per_group) * TILE_ROWS + i;
    const vec2 dm = unpackHalf2x16(texelFetch(W, int(word / 4))[word % 4]);
    acc += dm.x * d - dm.y * sx;
#else
    acc += d;
#endif
  }
  // Row sums over the subgroup, then over the subgroups.
  [[unroll]] for (uint r = 0; r < TILE_ROWS; ++r) {
    const float s = subgroupAdd(r == i ? acc : 0.0);
    if (gl_SubgroupInvocationID == r) partial[gl_SubgroupID][r] = s;
  }
  barrier();
  if (gl_LocalInvocationID.x < TILE_ROWS) {
    float s = 0.0;
    for (uint g = 0; g < gl_NumSubgroups; ++g) s += partial[g][gl_LocalInvocationID.x];
    store(tile, gl_LocalInvocationID.x, s);
  }
}
#endif
