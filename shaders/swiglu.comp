// SwiGLU product in place: gate = silu(gate) * up = gate / (1 + exp(-gate)) * up, per token.
#version 450
#extension GL_GOOGLE_include_directive : require

#include "params/swiglu.h"

layout(local_size_x = 64) in;
layout(push_constant) uniform PC { SwiGluParams p; };
layout(binding = 0) uniform samplerBuffer H;  // float texels of the gate/up buffer
layout(binding = 1) writeonly buffer Out { float y[]; };  // the same buffer

void main() {
  const uint t = gl_WorkGroupID.y;
  const uint i = gl_GlobalInvocationID.x;
  if (t >= p.n || i >= p.width) return;
  const float g = texelFetch(H, int(p.gate_offset + t * p.stride + i)).x;
  const float u = texelFetch(H, int(p.up_offset + t * p.stride + i)).x;
  y[p.gate_offset + t * p.stride + i] = g / (1.0 + exp(-g)) * u;
}
