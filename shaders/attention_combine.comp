// Attention pass 2: merges the splits of pass 1 (attention.comp) for each (query, head):
// out = sum_s exp(m_s - M) o_s / sum_s exp(m_s - M) l_s with M = max_s m_s, written as head_dim
// floats at out_offset + t * out_stride + h * head_dim. One invocation per vec4 of the head.
#version 450
#extension GL_GOOGLE_include_directive : require

#include "params/attention.h"

layout(local_size_x = 64) in;
layout(push_constant) uniform PC { AttentionParams p; };
layout(binding = 0) readonly buffer PartialML { vec2 part_ml[]; };
layout(binding = 1) uniform samplerBuffer PartialO;  // vec4 texels
layout(binding = 2) writeonly buffer Out { float y[]; };

void main() {
  const uint h = gl_WorkGroupID.x, t = gl_WorkGroupID.y;
  const uint j = gl_LocalInvocationID.x;
  if (j >= p.head_vec4s) return;
  const uint part0 = (t * p.n_heads + h) * p.n_splits;
  float m = part_ml[part0].x;  // split 0 always holds position 0
  for (uint s = 1; s < p.n_splits; ++s) m = max(m, part_ml[part0 + s].x);
  float l = 0.0;
  vec4 o = vec4(0.0);
  for (uint s = 0; s < p.n_splits; ++s) {
    const vec2 ml = part_ml[part0 + s];
    if (ml.y == 0.0) continue;  // an empty split (past the query's position)
    const float w = exp(ml.x - m);
    l += w * ml.y;
    o += w * texelFetch(PartialO, int((part0 + s) * p.head_vec4s + j));
  }
  o /= l;
  const uint base = p.out_offset + t * p.out_stride + h * p.head_dim + 4 * j;
  for (uint c = 0; c < 4; ++c)
    if (4 * j + c < p.head_dim) y[base + c] = o[c];
}
