// Randomized Hadamard rotation of rows in place (or added to the rows of a destination), for GPUs
// and as the fallback for any width: forward x <- H_n (S x) / sqrt(n), inverse x <- S H_n^T x /
// sqrt(n), n = m * 2^k, with H_n = H_m (x) H_{2^k} (index i = a * 2^k + b; H_m stored as sign bits,
// m in {1, 12, 20, 28, 36}) and S a random +-1 diagonal (docs/METHODS.md section 4). One workgroup per
// row and part (RotateParams): the row is staged in shared memory, the fast Walsh-Hadamard
// transform over b runs in passes of up to 4 butterfly stages held in registers (one barrier per
// pass), then every column of the m x 2^k view is multiplied by H_m (the host uploads H_m^T for
// the inverse) on the way out.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require

#include "params/rotate.h"

#define MAX_N 8192

layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { RotateParams p; };
layout(binding = 0) buffer X { float x[]; };                      // the source rows
layout(binding = 1) readonly buffer Signs { uint sign_bits[]; };  // bit i set: element i negated
layout(binding = 2) readonly buffer HadM { uvec2 hm_rows[]; };   // row a, bit a2 set: entry -1
layout(binding = 3) buffer Out { float x_out[]; };  // the destination rows (X's buffer, in place)

shared float s[MAX_N];

// Element i sits at i ^ ((i / 32) % 32) of s: a permutation inside each whole 32-float block, so
// that the first pass (each invocation on 16 consecutive elements) hits 32 distinct banks.
uint sw(uint i) { return (i | 31u) < p.n ? i ^ ((i >> 5) & 31u) : i; }

uint sign_base;  // first sign word of this workgroup's part

float flip(float v, uint i) {
  return ((sign_bits[sign_base + i / 32] >> (i % 32)) & 1u) != 0 ? -v : v;
}

float hm_sign(uint a, uint b) {
  const uvec2 r = hm_rows[a];
  const uint bit = b < 32 ? (r.x >> b) & 1u : (r.y >> (b - 32)) & 1u;
  return bit != 0 ? -1.0 : 1.0;
}

// One pass: butterfly stages lo .. lo + bits - 1 on every group of 2^bits elements.
void fwht_pass(uint lo, uint bits) {
  const uint rad = 1u << bits, h = 1u << lo;
  for (uint q = gl_LocalInvocationID.x; q < p.n / rad; q += gl_WorkGroupSize.x) {
    const uint i0 = ((q >> lo) << (lo + bits)) | (q & (h - 1));
    float w[16];
    [[unroll]] for (uint t = 0; t < 16; ++t)
      if (t < rad) w[t] = s[sw(i0 + t * h)];
    [[unroll]] for (uint st = 0; st < 4; ++st) {
      if (st >= bits) break;
      [[unroll]] for (uint u = 0; u < 8; ++u) {
        const uint g = 1u << st;
        const uint j = ((u >> st) << (st + 1)) | (u & (g - 1));
        if (j + g < rad) {
          const float e = w[j], f = w[j + g];
          w[j] = e + f;
          w[j + g] = e - f;
        }
      }
    }
    [[unroll]] for (uint t = 0; t < 16; ++t)
      if (t < rad) s[sw(i0 + t * h)] = w[t];
  }
}

void main() {
  const uint row = gl_WorkGroupID.x;
  if (row >= p.rows) return;
  const uint lid = gl_LocalInvocationID.x;
  const uint wg = gl_WorkGroupSize.x;
  const uint n = p.n;
  const uint base = p.offset + gl_WorkGroupID.y * p.part_stride + row * p.stride;
  sign_base = gl_WorkGroupID.y * p.part_sign_words;
  const bool signs_in = p.use_signs != 0 && p.inverse == 0;
  const bool signs_out = p.use_signs != 0 && p.inverse != 0;

  for (uint i = lid; i < n; i += wg) {
    const float v = x[base + i];
    s[sw(i)] = signs_in ? flip(v, i) : v;
  }
  barrier();
  for (uint lo = 0; lo < p.log2_p; lo += 4) {
    fwht_pass(lo, min(4u, p.log2_p - lo));
    barrier();
  }
  const uint pw = 1u << p.log2_p;
  for (uint i = lid; i < n; i += wg) {
    float v;
    if (p.m == 1) {
      v = s[sw(i)];
    } else {
      // Column b of the m x 2^k view: out[a * pw + b] = sum_a2 H_m[a][a2] s[a2 * pw + b].
      const uint a = i >> p.log2_p, b = i & (pw - 1);
      v = 0.0;
      for (uint a2 = 0; a2 < p.m; ++a2) v += hm_sign(a, a2) * s[sw(a2 * pw + b)];
    }
    v *= p.scale;
    v = signs_out ? flip(v, i) : v;
    x_out[base + i] = p.accumulate != 0 ? x_out[base + i] + v : v;
  }
}
