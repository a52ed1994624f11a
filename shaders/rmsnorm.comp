// RMSNorm of rows: out = x / sqrt(mean(x^2) + eps) * w.
// Inputs are read through texel buffers (fast per-lane reads on CPU devices); padding past the
// row width reads as zero and is written as zero. Two ways to spread the work:
//  ROW_PER_INVOCATION (CPU devices such as lavapipe): each invocation walks one whole row twice
//    (sum of squares, then scaling), with no shared memory and no barrier;
//  otherwise (GPUs): one workgroup per row, each invocation keeping its vec4s of the row in
//    registers between the sum of squares (reduced through shared memory) and the scaling.
//! variant rmsnorm_rows ROW_PER_INVOCATION
//! variant rmsnorm
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require

#include "params/rmsnorm.h"

#define LOCAL 64
#define MAX_VEC4_PER_LANE 32  // rows up to 64 * 32 * 4 = 8192 floats

layout(local_size_x = LOCAL) in;
layout(push_constant) uniform PC { RmsNormParams p; };
layout(binding = 0) uniform samplerBuffer X;   // vec4 texels
layout(binding = 1) uniform samplerBuffer Wt;  // vec4 texels
layout(binding = 2) writeonly buffer Out { float y[]; };

// Elements of vec4 v4 that lie inside the row.
bvec4 inside(uint v4) {
  const uint c = v4 * 4;
  return bvec4(c < p.width, c + 1 < p.width, c + 2 < p.width, c + 3 < p.width);
}

// x at vec4 i of a row, padding zeroed (a select: padding may hold anything, even NaN).
vec4 load_row(uint x0, uint i) { return mix(vec4(0.0), texelFetch(X, int(x0 + i)), inside(i)); }

// Writes out = w * (inv * v) at vec4 i of output row o (elements inside the row only).
void store_out(uint o, uint i, float inv, vec4 v) {
  const vec4 r = texelFetch(Wt, int(p.w_offset / 4 + i)) * (inv * v);
  [[unroll]] for (uint c = 0; c < 4; ++c)
    if (4 * i + c < p.width) y[o + 4 * i + c] = r[c];
}

#ifdef ROW_PER_INVOCATION
void main() {
  const uint row = gl_GlobalInvocationID.x;
  if (row >= p.n) return;
  const uint n4 = (p.width + 3) / 4;
  const uint x0 = (p.x_offset + row * p.x_stride) / 4;
  vec4 ss = vec4(0.0);
  for (uint i = 0; i < n4; ++i) {
    const vec4 a = load_row(x0, i);
    ss += a * a;
  }
  const float inv = inversesqrt(((ss.x + ss.y) + (ss.z + ss.w)) / float(p.width) + p.eps);
  const uint o = p.out_offset + row * p.out_stride;
  for (uint i = 0; i < n4; ++i) store_out(o, i, inv, load_row(x0, i));
}
#else
shared float partial[LOCAL];

void main() {
  const uint row = gl_WorkGroupID.x;
  const uint lid = gl_LocalInvocationID.x;
  const uint n4 = (p.width + 3) / 4;
  const uint x0 = (p.x_offset + row * p.x_stride) / 4;
  vec4 v[MAX_VEC4_PER_LANE];
  float ss = 0.0;
  [[unroll]] for (uint k = 0; k < MAX_VEC4_PER_LANE; ++k) {
    const uint i = k * LOCAL + lid;
    v[k] = vec4(0.0);
    if (i < n4) {
      const vec4 a = load_row(x0, i);
      v[k] = a;
      ss += dot(a, a);
    }
  }
  partial[lid] = ss;
  barrier();
  float total = 0.0;
  for (uint i = 0; i < LOCAL; ++i) total += partial[i];
  const float inv = inversesqrt(total / float(p.width) + p.eps);
  const uint o = p.out_offset + row * p.out_stride;
  [[unroll]] for (uint k = 0; k < MAX_VEC4_PER_LANE; ++k) {
    const uint i = k * LOCAL + lid;
    if (i < n4) store_out(o, i, inv, v[k]);
  }
}
#endif
