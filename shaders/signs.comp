// Multiplies rows by a +-1 sign vector in place (x_i = -x_i where sign bit i is set): the last
// step of the inverse Hadamard rotation S H^T x / sqrt(n) until hadamard.comp has an inverse mode.
#version 450
#extension GL_GOOGLE_include_directive : require

#include "params/rotate.h"

layout(local_size_x = 64) in;
layout(push_constant) uniform PC { RotateParams p; };
layout(binding = 0) buffer X { float x[]; };
layout(binding = 1) readonly buffer Signs { uint sign_bits[]; };

void main() {
  const uint row = gl_WorkGroupID.y;
  const uint i = gl_GlobalInvocationID.x;
  if (row >= p.rows || i >= p.n) return;
  if (((sign_bits[i / 32] >> (i % 32)) & 1u) != 0) x[p.offset + row * p.stride + i] = -x[p.offset + row * p.stride + i];
}
