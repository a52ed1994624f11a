// Plain copy of rows (the speed reference for the rotation kernels): the same bytes, read the
// fastest way a kernel can (uvec4 texels; on lavapipe storage-buffer reads with per-lane addresses
// are several times slower) and written as vec4 through a storage buffer, lanes on neighbouring
// texels. One workgroup per row; offset, stride and width are multiples of 4 floats.
#version 450
#extension GL_GOOGLE_include_directive : require

#include "params/rotate.h"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { RotateParams p; };
layout(binding = 0) uniform samplerBuffer src;
layout(binding = 1) writeonly buffer Dst { vec4 dst[]; };

void main() {
  const uint row = gl_WorkGroupID.x;
  if (row >= p.rows) return;
  const uint base = (p.offset + row * p.stride) / 4;
  for (uint i = gl_LocalInvocationID.x; i < p.n / 4; i += gl_WorkGroupSize.x)
    dst[base + i] = texelFetch(src, int(base + i));
}
