// Attention pass 1: workgroup (query block, head h, split s) serves query_lanes consecutive
// queries t (at pos = step.pos0 + t; causal) over positions [s * split_len, min((s + 1) *
// split_len, pos + 1)). Every invocation keeps its query and an online softmax (running max m,
// sum l = sum exp(score - m), weighted values o = sum exp(score - m) v) in registers and walks
// its positions one by one, reading keys and values as vec4 texels: no barrier inside the loop.
// In a batch the 8 invocations serve 8 queries and read the same key at once; a single query
// spreads its positions over the 8 invocations, whose states are merged at the end. With one
// split the output o / l is written directly; otherwise (m, l, o) go to the scratch for pass 2
// (attention_combine.comp), and splits past a query's position write m = -inf, l = 0, o = 0.
// FUSED_ROPE (one query, decode): the rotary embedding and the KV-cache write are done here
// instead of in rope.comp: q and the new k are rotated as they are read from the q/k/v buffer,
// the query's own position is scored from them (not from the cache), and the first workgroup of
// each kv head writes the rotated k and the v into the cache row of that position.
// KV_F16: the caches hold fp16, 8 halves per uvec4 texel (heads padded to whole texels): half the
// fetches of fp32 for the same positions.
//! variant attention
//! variant attention_rope FUSED_ROPE
//! variant attention_f16 KV_F16
//! variant attention_rope_f16 FUSED_ROPE KV_F16
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require

#include "params/attention.h"
#include "params/step.h"

#define LANES 8

layout(local_size_x = LANES) in;
layout(constant_id = 0) const uint HV = 12;  // vec4s per head (head_vec4s)
layout(push_constant) uniform PC { AttentionParams p; };
layout(binding = 0) uniform samplerBuffer Q;       // float texels of the query buffer
#ifdef KV_F16
const uint HT = (HV + 1) / 2;                       // texels per head in the cache
layout(binding = 1) uniform usamplerBuffer KCache;  // uvec4 texels of 8 halves, [seq_len][n_kv_heads][HT]
layout(binding = 2) uniform usamplerBuffer VCache;  // same layout
#else
const uint HT = HV;
layout(binding = 1) uniform samplerBuffer KCache;  // vec4 texels, [seq_len][n_kv_heads][head_vec4s]
layout(binding = 2) uniform samplerBuffer VCache;  // vec4 texels, same layout
#endif
layout(binding = 3) readonly buffer Step { StepState step; };
layout(binding = 4) writeonly buffer PartialML { vec2 part_ml[]; };  // [n][n_heads][n_splits]
layout(binding = 5) writeonly buffer PartialO { vec4 part_o[]; };    // [n][n_heads][n_splits][head_vec4s]
layout(binding = 6) writeonly buffer Out { float y[]; };             // used when n_splits == 1
#ifdef FUSED_ROPE
layout(binding = 7) uniform samplerBuffer Table;  // rope (cos, sin) pairs, [seq_len][head_dim / 2]
#ifdef KV_F16
layout(binding = 8) writeonly buffer KOut { uint k_out[]; };  // the buffer KCache views, a word per pair
layout(binding = 9) writeonly buffer VOut { uint v_out[]; };  // the buffer VCache views
#else
layout(binding = 8) writeonly buffer KOut { float k_out[]; };  // the buffer KCache views
layout(binding = 9) writeonly buffer VOut { float v_out[]; };  // the buffer VCache views
#endif

// Element j (even) and j + 1 of a head at float i0 of Q, turned by the angle of pair j / 2 at pos.
vec2 rotated(uint i0, uint j, uint pos) {
  const vec2 v = vec2(texelFetch(Q, int(i0 + j)).x, texelFetch(Q, int(i0 + j + 1)).x);
  const vec2 cs = texelFetch(Table, int(pos * (p.head_dim / 2) + j / 2)).xy;
  return vec2(v.x * cs.x - v.y * cs.y, v.x * cs.y + v.y * cs.x);
}
#endif

shared vec2 ml_s[LANES];
shared vec4 o_s[LANES * HV];

void main() {
  const uint h = gl_WorkGroupID.y, s = gl_WorkGroupID.z;
  const uint lane = gl_LocalInvocationID.x;
  const uint stride = LANES / p.query_lanes;  // invocations per query
  const uint t = gl_WorkGroupID.x * p.query_lanes + lane % p.query_lanes;
  const uint first = lane / p.query_lanes;    // this invocation's first position in the split
  const bool valid = t < p.n;
  const uint pos = step.pos0 + min(t, p.n - 1);
  const uint t_begin = s * p.split_len;
#ifdef FUSED_ROPE
  const uint own = 1;  // the query's own position is scored after the loop, from q/k/v
#else
  const uint own = 0;
#endif
  const uint t_end = valid ? min(t_begin + p.split_len, pos + 1 - own) : 0;
  // The workgroup's last position: of its last valid query (uniform loop bound).
  const uint last_t = min(gl_WorkGroupID.x * p.query_lanes + p.query_lanes, p.n) - 1;
  const uint wg_end = min(t_begin + p.split_len, step.pos0 + last_t + 1 - own);
  const float neg_inf = uintBitsToFloat(0xFF800000u);

  vec4 q[HV];
  const uint q0 = p.q_offset + min(t, p.n - 1) * p.q_stride + h * p.head_dim;
  [[unroll]] for (uint d = 0; d < HV; ++d) {
    q[d] = vec4(0.0);
#ifdef FUSED_ROPE
    for (uint c = 0; c < 4; c += 2)
      if (4 * d + c < p.head_dim) {
        const vec2 r = rotated(q0, 4 * d + c, pos);
        q[d][c] = r.x;
        q[d][c + 1] = r.y;
      }
#else
    for (uint c = 0; c < 4; ++c)
      if (4 * d + c < p.head_dim) q[d][c] = texelFetch(Q, int(q0 + 4 * d + c)).x;
#endif
    q[d] *= p.scale;
  }
  const uint kv0 = (h / (p.n_heads / p.n_kv_heads)) * HT;  // first texel of the head in a cache row
  const uint row_texels = p.n_kv_heads * HT;
  float m = neg_inf, l = 0.0;
  vec4 o[HV];
  [[unroll]] for (uint d = 0; d < HV; ++d) o[d] = vec4(0.0);
  for (uint pos_k = t_begin + first; pos_k < wg_end; pos_k += stride) {
    if (pos_k >= t_end) continue;  // past this query's position
    const int base = int(pos_k * row_texels + kv0);
    // The key's and the value's texels first, then the arithmetic: on lavapipe each fetch is a
    // call that spills the live vector registers around it.
    vec4 kt[HV], vt[HV];
#ifdef KV_F16
    uvec4 kh[HT], vh[HT];
    [[unroll]] for (uint d = 0; d < HT; ++d) kh[d] = texelFetch(KCache, base + int(d));
    [[unroll]] for (uint d = 0; d < HT; ++d) vh[d] = texelFetch(VCache, base + int(d));
    [[unroll]] for (uint d = 0; d < HV; ++d) {
      const uvec2 k2 = d % 2 == 0 ? kh[d / 2].xy : kh[d / 2].zw, v2 = d % 2 == 0 ? vh[d / 2].xy : vh[d / 2].zw;
      kt[d] = vec4(unpackHalf2x16(k2.x), unpackHalf2x16(k2.y));
      vt[d] = vec4(unpackHalf2x16(v2.x), unpackHalf2x16(v2.y));
    }
#else
    [[unroll]] for (uint d = 0; d < HV; ++d) kt[d] = texelFetch(KCache, base + int(d));
    [[unroll]] for (uint d = 0; d < HV; ++d) vt[d] = texelFetch(VCache, base + int(d));
#endif
    float score = 0.0;
    [[unroll]] for (uint d = 0; d < HV; ++d) score += dot(q[d], kt[d]);
    const float m_new = max(m, score);
    const float corr = m == neg_inf ? 0.0 : exp(m - m_new);
    const float w = exp(score - m_new);
    l = l * corr + w;
    [[unroll]] for (uint d = 0; d < HV; ++d) o[d] = o[d] * corr + w * vt[d];
    m = m_new;
  }
#ifdef FUSED_ROPE
  if (valid && first == 0 && pos >= t_begin && pos < t_begin + p.split_len) {
    // The query's own position: k rotated and v as they come from the q/k/v buffer.
    const uint kvh = h / (p.n_heads / p.n_kv_heads);
    const uint k0 = p.k_offset + kvh * p.head_dim, v0 = p.v_offset + kvh * p.head_dim;
    const bool write = h % (p.n_heads / p.n_kv_heads) == 0;  // one workgroup per kv head writes the cache
    const uint row0 = (pos * row_texels + kv0) * 4;  // first float (fp16: first pair word) of the head
    float score = 0.0;
    [[unroll]] for (uint d = 0; d < HV; ++d)
      for (uint c = 0; c < 4; c += 2) {
        const uint j = 4 * d + c;
        vec2 k = j < p.head_dim ? rotated(k0, j, pos) : vec2(0.0);
#ifdef KV_F16
        k = unpackHalf2x16(packHalf2x16(k));  // as the cache holds it (decode agrees with prefill)
#endif
        score += q[d][c] * k.x + q[d][c + 1] * k.y;
        if (write) {
#ifdef KV_F16
          k_out[row0 + j / 2] = packHalf2x16(k);
#else
          k_out[row0 + j] = k.x;
          k_out[row0 + j + 1] = k.y;
#endif
        }
      }
    const float m_new = max(m, score);
    const float corr = m == neg_inf ? 0.0 : exp(m - m_new);
    const float w = exp(score - m_new);
    l = l * corr + w;
    [[unroll]] for (uint d = 0; d < HV; ++d) {
      vec4 v = vec4(0.0);
      for (uint c = 0; c < 4; ++c)
        if (4 * d + c < p.head_dim) v[c] = texelFetch(Q, int(v0 + 4 * d + c)).x;
#ifdef KV_F16
      v = vec4(unpackHalf2x16(packHalf2x16(v.xy)), unpackHalf2x16(packHalf2x16(v.zw)));
#endif
      if (write) {
#ifdef KV_F16
        v_out[row0 + 2 * d] = packHalf2x16(v.xy);
        v_out[row0 + 2 * d + 1] = packHalf2x16(v.zw);
#else
        for (uint c = 0; c < 4; ++c) v_out[row0 + 4 * d + c] = v[c];
#endif
      }
      o[d] = o[d] * corr + w * v;
    }
    m = m_new;
  }
#endif

  if (stride > 1) {
    // One query over all invocations: merge their states into invocation 0.
    ml_s[lane] = vec2(m, l);
    [[unroll]] for (uint d = 0; d < HV; ++d) o_s[lane * HV + d] = o[d];
    barrier();
    if (lane != 0) return;
    float mm = neg_inf;
    for (uint i = 0; i < stride; ++i) mm = max(mm, ml_s[i].x);
    l = 0.0;
    [[unroll]] for (uint d = 0; d < HV; ++d) o[d] = vec4(0.0);
    for (uint i = 0; i < stride; ++i) {
      const float w = ml_s[i].y == 0.0 ? 0.0 : exp(ml_s[i].x - mm);
      l += w * ml_s[i].y;
      [[unroll]] for (uint d = 0; d < HV; ++d) o[d] += w * o_s[i * HV + d];
    }
    m = mm;
  }
  if (!valid) return;
  if (p.n_splits == 1) {
    const uint base = p.out_offset + t * p.out_stride + h * p.head_dim;
    [[unroll]] for (uint d = 0; d < HV; ++d)
      for (uint c = 0; c < 4; ++c)
        if (4 * d + c < p.head_dim) y[base + 4 * d + c] = o[d][c] / l;
    return;
  }
  const uint part = (t * p.n_heads + h) * p.n_splits + s;
  [[unroll]] for (uint d = 0; d < HV; ++d) part_o[part * HV + d] = o[d];
  part_ml[part] = vec2(m, l);
}
