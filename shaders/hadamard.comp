// Randomized Hadamard rotation of rows in place: x <- H_n (S x) / sqrt(n), n = m * 2^k, with
// H_n = H_m (x) H_{2^k} (Kronecker product; H_m stored as sign bits, m in {1, 12, 20, 28, 36}) and
// S a random +-1 diagonal (METHODS.md section 4). One workgroup per row: the row is staged in
// shared memory, a fast Walsh-Hadamard transform runs over each 2^k block, then every column of
// the m x 2^k view is multiplied by H_m.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require

#include "params/rotate.h"

#define MAX_N 8192

layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { RotateParams p; };
layout(binding = 0) buffer X { float x[]; };
layout(binding = 1) readonly buffer Signs { uint sign_bits[]; };     // bit i set: element i negated
layout(binding = 2) readonly buffer HadM { uvec2 hm_rows[]; };      // row a, bit a' set: H_m[a][a'] = -1

shared float s[MAX_N];

float hm_sign(uint a, uint b) {
  const uvec2 r = hm_rows[a];
  const uint bit = b < 32 ? (r.x >> b) & 1u : (r.y >> (b - 32)) & 1u;
  return bit != 0 ? -1.0 : 1.0;
}

void main() {
  const uint row = gl_WorkGroupID.x;
  if (row >= p.rows) return;
  const uint lid = gl_LocalInvocationID.x;
  const uint wg = gl_WorkGroupSize.x;
  const uint n = p.n;
  const uint pw = 1u << p.log2_p;
  const uint base = p.offset + row * p.stride;

  for (uint i = lid; i < n; i += wg) {
    float v = x[base + i];
    if (p.use_signs != 0 && ((sign_bits[i / 32] >> (i % 32)) & 1u) != 0) v = -v;
    s[i] = v;
  }
  barrier();

  // Radix-2 butterflies over each 2^k block (the low k bits of the index).
  for (uint h = 1; h < pw; h <<= 1) {
    for (uint q = lid; q < n / 2; q += wg) {
      const uint i = (q / h) * 2 * h + (q % h);
      const float a = s[i], b = s[i + h];
      s[i] = a + b;
      s[i + h] = a - b;
    }
    barrier();
  }

  if (p.m == 1) {
    for (uint i = lid; i < n; i += wg) x[base + i] = s[i] * p.scale;
    return;
  }
  // Column b of the m x 2^k view: out[a*pw + b] = sum_a' H_m[a][a'] s[a'*pw + b].
  for (uint i = lid; i < n; i += wg) {
    const uint a = i / pw, b = i % pw;
    float acc = 0.0;
    for (uint a2 = 0; a2 < p.m; ++a2) acc += hm_sign(a, a2) * s[a2 * pw + b];
    x[base + i] = acc * p.scale;
  }
}
