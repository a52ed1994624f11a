// Read-bandwidth probe: the dispatch sums every uvec4 of a buffer once and writes one word per
// invocation. Access patterns (each reads every texel exactly once; the best one is the device's
// read bandwidth):
//  STRIDED:   texel id + i * invocations (neighbouring invocations read neighbouring texels)
//  BLOCK:     each invocation reads its own contiguous run of per_invocation texels
//  WG_BLOCK:  each workgroup reads a contiguous run; lanes read neighbouring texels each step
//  UNIFORM:   each workgroup reads a contiguous run at workgroup-uniform addresses
//  SSBO selects a storage buffer instead of the uniform texel buffer.
//! variant bw_strided STRIDED
//! variant bw_block BLOCK
//! variant bw_wg_block WG_BLOCK
//! variant bw_uniform UNIFORM
//! variant bw_uniform_ssbo UNIFORM SSBO
//! variant bw_block_ssbo BLOCK SSBO
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require

#include "params/bandwidth.h"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint UNROLL = 4;  // texels per loop iteration
layout(push_constant) uniform PC { BandwidthParams p; };
#ifdef SSBO
layout(binding = 0) readonly buffer Src { uvec4 src[]; };
#define FETCH(t) src[(t)]
#else
layout(binding = 0) uniform usamplerBuffer src;
#define FETCH(t) texelFetch(src, int(t))
#endif
layout(binding = 1) writeonly buffer Out { uint out_words[]; };

void main() {
  const uint id = gl_GlobalInvocationID.x;
  const uint local = gl_WorkGroupSize.x;
  const uint per = p.per_invocation;  // a multiple of UNROLL
  uvec4 acc = uvec4(0);
#if defined(STRIDED)
  const uint stride = gl_NumWorkGroups.x * local;
  for (uint i = 0; i < per; i += UNROLL)
    [[unroll]] for (uint u = 0; u < UNROLL; ++u) acc += FETCH(id + (i + u) * stride);
#elif defined(BLOCK)
  const uint base = id * per;
  for (uint i = 0; i < per; i += UNROLL)
    [[unroll]] for (uint u = 0; u < UNROLL; ++u) acc += FETCH(base + i + u);
#elif defined(WG_BLOCK)
  const uint base = gl_WorkGroupID.x * local * per + gl_LocalInvocationID.x;
  for (uint i = 0; i < per; i += UNROLL)
    [[unroll]] for (uint u = 0; u < UNROLL; ++u) acc += FETCH(base + (i + u) * local);
#else
  const uint base = gl_WorkGroupID.x * local * per;
  for (uint i = 0; i < local * per; i += UNROLL)
    [[unroll]] for (uint u = 0; u < UNROLL; ++u) acc += FETCH(base + i + u);
#endif
  out_words[id] = acc.x ^ acc.y ^ acc.z ^ acc.w;
}
