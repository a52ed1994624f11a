// Embedding lookup: for each token, its row of a packed [vocab x dim] matrix (any format of
// quant/format.h), dequantized to floats. The table is the same packed matrix the classifier reads
// when the two are shared. One workgroup row per token; each invocation decodes one 32-column chunk.
//! variant embedding_q2 FORMAT_Q2
//! variant embedding_q3 FORMAT_Q3
//! variant embedding_q4 FORMAT_Q4
//! variant embedding_q8 FORMAT_Q8
//! variant embedding_f16 FORMAT_F16
//! variant embedding_f32 FORMAT_F32
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require

#include "params/embedding.h"
#include "include/dequant.glsl"

layout(local_size_x = 64) in;
layout(push_constant) uniform PC { EmbeddingParams p; };
layout(binding = 1) readonly buffer Tokens { uint tokens[]; };
layout(binding = 2) writeonly buffer Out { float y[]; };

void main() {
  const uint t = gl_WorkGroupID.y;
  const uint c = gl_GlobalInvocationID.x;
  if (t >= p.n || c >= p.chunks) return;
  const uint row = min(tokens[p.tokens_offset + t], p.rows - 1);  // the host rejects ids past the vocabulary
  const uint tile = row / TILE_ROWS, i = row % TILE_ROWS;
  vec2 dm = vec2(1.0, 0.0);
#if GROUPED
  // Parameter word of (tile, group, row): texel params_texel + 2 * (tile * groups + g) + i / 4.
  const uint tg = tile * p.groups + c / p.chunks_per_group;
  dm = unpackHalf2x16(texelFetch(W, int(p.params_texel + 2 * tg + i / 4))[i % 4]);
#endif
  vec4 wv[8];
  dequant_row(tile * p.chunks + c, i, dm, wv);
  const uint base = p.out_offset + t * p.out_stride + c * 32;
  [[unroll]] for (uint j = 0; j < 32; ++j)
    if (c * 32 + j < p.cols) y[base + j] = wv[j / 4][j % 4];
}
