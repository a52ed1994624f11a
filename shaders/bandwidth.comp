// Read-bandwidth probe: each invocation sums `per_invocation` uvec4 texels (strided across the
// dispatch so that neighbouring invocations read neighbouring texels) and writes one word.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require

#include "params/bandwidth.h"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { BandwidthParams p; };
layout(binding = 0) uniform usamplerBuffer src;
layout(binding = 1) writeonly buffer Out { uint out_words[]; };

void main() {
  const uint id = gl_GlobalInvocationID.x;
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  uvec4 acc = uvec4(0);
  for (uint i = 0; i < p.per_invocation; ++i) {
    const uint t = id + i * stride;
    if (t < p.texels) acc += texelFetch(src, int(t));
  }
  out_words[id] = acc.x ^ acc.y ^ acc.z ^ acc.w;
}
