// Rotary position embedding and KV-cache write for a batch of tokens (token t at position
// step.pos0 + t): q is rotated in place, k is rotated into the key cache and v copied into the
// value cache at that position. Adjacent pairs (2i, 2i+1) of each head turn by the angle of the
// host-built (cos, sin) table, row pos, entry i. Cache rows hold n_kv_heads heads padded to
// head_vec4s * 4 elements; the padding is written as zero. One invocation per float pair.
// KV_F16: the caches hold fp16 pairs (one packed word per pair).
//! variant rope
//! variant rope_f16 KV_F16
#version 450
#extension GL_GOOGLE_include_directive : require

#include "params/rope.h"
#include "params/step.h"

layout(local_size_x = 64) in;
layout(push_constant) uniform PC { RopeParams p; };
layout(binding = 0) uniform samplerBuffer QKV;    // float pairs (R32G32) of the q/k/v buffer
layout(binding = 1) uniform samplerBuffer Table;  // (cos, sin) pairs, [seq_len][head_dim / 2]
layout(binding = 2) readonly buffer Step { StepState step; };
layout(binding = 3) writeonly buffer QOut { vec2 q_out[]; };  // the buffer QKV views
#ifdef KV_F16
layout(binding = 4) writeonly buffer KCache { uint k_cache[]; };
layout(binding = 5) writeonly buffer VCache { uint v_cache[]; };
#define CACHE_PAIR(v) packHalf2x16(v)
#else
layout(binding = 4) writeonly buffer KCache { vec2 k_cache[]; };
layout(binding = 5) writeonly buffer VCache { vec2 v_cache[]; };
#define CACHE_PAIR(v) (v)
#endif

vec2 rotate_pair(uint pair, uint pos, uint i) {
  const vec2 v = texelFetch(QKV, int(pair)).xy;
  const vec2 cs = texelFetch(Table, int(pos * (p.head_dim / 2) + i)).xy;
  return vec2(v.x * cs.x - v.y * cs.y, v.x * cs.y + v.y * cs.x);
}

void main() {
  const uint t = gl_WorkGroupID.y;
  const uint pos = step.pos0 + t;
  if (t >= p.n || pos >= p.seq_len) return;  // the host keeps positions inside the cache
  const uint half_dim = p.head_dim / 2;
  const uint q_pairs = p.n_heads * half_dim;
  const uint head_pairs = p.head_vec4s * 2;  // pairs per padded cache head
  const uint cache_pairs = p.n_kv_heads * head_pairs;
  uint e = gl_GlobalInvocationID.x;
  if (e < q_pairs) {
    const uint pair = (p.q_offset + t * p.stride) / 2 + e;
    q_out[pair] = rotate_pair(pair, pos, e % half_dim);
    return;
  }
  e -= q_pairs;
  const bool is_key = e < cache_pairs;
  if (!is_key) e -= cache_pairs;
  if (e >= cache_pairs) return;
  const uint head = e / head_pairs, i = e % head_pairs;
  const uint dst = pos * cache_pairs + e;
  vec2 v = vec2(0.0);
  if (i < half_dim) {
    const uint src = ((is_key ? p.k_offset : p.v_offset) + t * p.stride) / 2 + head * half_dim + i;
    v = is_key ? rotate_pair(src, pos, i) : texelFetch(QKV, int(src)).xy;
  }
  if (is_key)
    k_cache[dst] = CACHE_PAIR(v);
  else
    v_cache[dst] = CACHE_PAIR(v);
}
