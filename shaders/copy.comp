// Plain copy of rows (the speed reference for the rotation kernel): same bytes, same buffers.
#version 450
#extension GL_GOOGLE_include_directive : require

#include "params/rotate.h"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { RotateParams p; };
layout(binding = 0) readonly buffer Src { vec4 src[]; };
layout(binding = 1) writeonly buffer Dst { vec4 dst[]; };

void main() {
  const uint row = gl_WorkGroupID.x;
  if (row >= p.rows) return;
  const uint base = (p.offset + row * p.stride) / 4;
  for (uint i = gl_LocalInvocationID.x; i < p.n / 4; i += gl_WorkGroupSize.x) dst[base + i] = src[base + i];
}
