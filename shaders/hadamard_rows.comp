// Randomized Hadamard rotation for CPU devices (lavapipe): eight lanes rotate one row entirely in
// registers, so the only memory traffic is one texel-buffer read and one storage write of each
// element (shared memory and indexed private arrays are slow there). Forward x <- H (S x) / sqrt(n),
// inverse x <- S H^T x / sqrt(n), H = H_m (x) H_p, n = m * p, p = 2^k (docs/METHODS.md section 4).
//
// The transform itself is include/hadamard_lanes.glsl; here lane l of a row's group reads slot r
// from texel 8 r + l of the row, so the lanes of a group read neighbouring texels.
//! variant hadamard_rows_v4 W=4
//! variant hadamard_rows_s W=1
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require

#include "params/rotate.h"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint N = 4096;    // row width
layout(constant_id = 2) const uint M = 1;       // Hadamard factor m
layout(constant_id = 3) const uint LOG2_RB = 7;  // log2(p / (8 W))

layout(push_constant) uniform PC { RotateParams p; };
#if W == 4
layout(binding = 0) buffer X { vec4 x[]; };  // the destination rows (the source's, in place)
#else
layout(binding = 0) buffer X { float x[]; };
#endif
layout(binding = 1) uniform samplerBuffer x_in;       // the source rows, read once before written
layout(binding = 2) uniform Signs { uvec4 sign_words[64]; };  // bit i set: element i negated

uint base;  // texel of slot 0 of this lane
#if W == 4
#define HAD_LOAD(r) texelFetch(x_in, int(base + 8 * (r)))
#else
#define HAD_LOAD(r) texelFetch(x_in, int(base + 8 * (r))).x
#endif
#define HAD_STORE(r, v) x[base + 8 * (r)] = p.accumulate != 0 ? x[base + 8 * (r)] + (v) : (v)
#include "include/hadamard_lanes.glsl"

void main() {
  const uint groups = gl_SubgroupSize / 8;  // rows per subgroup
  const uint row = (gl_WorkGroupID.x * gl_NumSubgroups + gl_SubgroupID) * groups + gl_SubgroupInvocationID / 8;
  const uint l = gl_SubgroupInvocationID % 8;
  if (row >= p.rows) return;  // uniform across the row's 8 lanes
  base = (p.offset + gl_WorkGroupID.y * p.part_stride + row * p.stride) / W + l;
  sign_base = gl_WorkGroupID.y * p.part_sign_words;
  // Branch-free sign application (branches in these unrolled loops make compilation very slow).
  const uint signs_in = p.use_signs != 0 && p.inverse == 0 ? ~0u : 0u;
  const uint signs_out = p.use_signs != 0 && p.inverse != 0 ? ~0u : 0u;
  hadamard_lanes(l, signs_in, signs_out, p.scale);
}
