// Attention pass 1 (split over positions, flash-decoding style): workgroup (split s, head h,
// query t) scores positions [s * split_len, min((s + 1) * split_len, pos + 1)) of query t (at
// pos = step.pos0 + t; causal) against the key cache, and writes the split's running max m, sum
// l = sum exp(score - m) and weighted values o = sum exp(score - m) v. Empty splits write
// m = -inf, l = 0, o = 0. Pass 2 (attention_combine.comp) merges the splits; with one split
// (short contexts) this pass writes the output o / l itself and pass 2 is not run.
// Positions are taken 64 at a time: each invocation scores one position (keys are read as vec4
// texels), then the invocations split the value sum by head columns (vec4) and positions.
#version 450
#extension GL_GOOGLE_include_directive : require

#include "params/attention.h"
#include "params/step.h"

#define LOCAL 64
#define MAX_HEAD_VEC4S 64  // head_dim up to 256

layout(local_size_x = LOCAL) in;
layout(push_constant) uniform PC { AttentionParams p; };
layout(binding = 0) uniform samplerBuffer Q;       // float texels of the query buffer
layout(binding = 1) uniform samplerBuffer KCache;  // vec4 texels, [seq_len][n_kv_heads][head_vec4s]
layout(binding = 2) uniform samplerBuffer VCache;  // vec4 texels, same layout
layout(binding = 3) readonly buffer Step { StepState step; };
layout(binding = 4) writeonly buffer PartialML { vec2 part_ml[]; };  // [n][n_heads][n_splits]
layout(binding = 5) writeonly buffer PartialO { vec4 part_o[]; };    // [n][n_heads][n_splits][head_vec4s]
layout(binding = 6) writeonly buffer Out { float y[]; };             // used when n_splits == 1

shared vec4 q_s[MAX_HEAD_VEC4S];
shared float score_s[LOCAL];
shared float prob_s[LOCAL];
shared vec4 o_s[LOCAL];

void main() {
  const uint s = gl_WorkGroupID.x, h = gl_WorkGroupID.y, t = gl_WorkGroupID.z;
  const uint lid = gl_LocalInvocationID.x;
  const uint hv = p.head_vec4s;
  const uint part = (t * p.n_heads + h) * p.n_splits + s;
  const uint pos = step.pos0 + t;
  const uint t_begin = s * p.split_len;
  const uint t_end = min(t_begin + p.split_len, pos + 1);
  const float neg_inf = uintBitsToFloat(0xFF800000u);
  if (t_begin >= t_end) {
    if (lid < hv) part_o[part * hv + lid] = vec4(0.0);
    if (lid == 0) part_ml[part] = vec2(neg_inf, 0.0);
    return;
  }
  // The query head, pre-scaled by 1/sqrt(head_dim), zero-padded to head_vec4s vec4s.
  if (lid < hv) {
    const uint q0 = p.q_offset + t * p.q_stride + h * p.head_dim;
    vec4 q = vec4(0.0);
    for (uint c = 0; c < 4; ++c)
      if (4 * lid + c < p.head_dim) q[c] = texelFetch(Q, int(q0 + 4 * lid + c)).x;
    q_s[lid] = q * p.scale;
  }
  barrier();

  const uint kv_head = h / (p.n_heads / p.n_kv_heads);
  const uint row_vec4s = p.n_kv_heads * hv;
  const uint groups = LOCAL / hv;  // invocations (lid / hv) sharing the value sum by position
  const uint col = lid % hv, group = lid / hv;
  float m_run = neg_inf, l_run = 0.0;
  vec4 o_acc = vec4(0.0);
  for (uint base = t_begin; base < t_end; base += LOCAL) {
    const uint count = min(LOCAL, t_end - base);
    float score = neg_inf;
    if (lid < count) {
      const uint k0 = (base + lid) * row_vec4s + kv_head * hv;
      score = 0.0;
      for (uint d = 0; d < hv; ++d) score += dot(q_s[d], texelFetch(KCache, int(k0 + d)));
    }
    score_s[lid] = score;
    barrier();
    float m_new = m_run;
    for (uint i = 0; i < count; ++i) m_new = max(m_new, score_s[i]);
    prob_s[lid] = lid < count ? exp(score - m_new) : 0.0;
    barrier();
    float sum = 0.0;
    for (uint i = 0; i < count; ++i) sum += prob_s[i];
    const float corr = m_run == neg_inf ? 0.0 : exp(m_run - m_new);
    l_run = l_run * corr + sum;
    o_acc *= corr;
    if (group < groups)
      for (uint i = group; i < count; i += groups)
        o_acc += prob_s[i] * texelFetch(VCache, int((base + i) * row_vec4s + kv_head * hv + col));
    m_run = m_new;
    barrier();  // score_s and prob_s are rewritten by the next block
  }
  o_s[lid] = o_acc;
  barrier();
  if (lid >= hv) return;
  vec4 o = vec4(0.0);
  for (uint g = 0; g < groups; ++g) o += o_s[g * hv + lid];
  if (p.n_splits == 1) {
    o /= l_run;
    const uint base = p.out_offset + t * p.out_stride + h * p.head_dim + 4 * lid;
    for (uint c = 0; c < 4; ++c)
      if (4 * lid + c < p.head_dim) y[base + c] = o[c];
    return;
  }
  part_o[part * hv + lid] = o;
  if (lid == 0) part_ml[part] = vec2(m_run, l_run);
}
