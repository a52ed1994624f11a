// Push constants of the two attention passes (shared by C++ and GLSL).
#ifndef BITLENS_PARAMS_ATTENTION_H
#define BITLENS_PARAMS_ATTENTION_H

#ifdef __cplusplus
#include <cstdint>
namespace bitlens::kernels {
using uint = uint32_t;
#endif

// Causal attention of n queries at positions step.pos0 + t over the KV cache, optionally split
// over positions: pass 1 scores split s (positions [s * split_len, (s + 1) * split_len)) of every
// (query, head) and writes the split's max, sum and weighted values (or, with one split, the
// output); pass 2 combines the splits. Each 8-invocation workgroup serves query_lanes queries,
// with 8 / query_lanes invocations per query taking every (8 / query_lanes)-th position.
struct AttentionParams {
  uint n;            // queries
  uint n_heads;
  uint n_kv_heads;
  uint head_dim;
  uint head_vec4s;   // ceil(head_dim / 4): vec4s per head in the cache and the partial outputs
  uint split_len;    // positions per split
  uint n_splits;     // splits per (query, head)
  uint q_offset;     // first float of q of query 0
  uint q_stride;     // floats between queries of q
  uint out_offset;   // first float of the output of query 0
  uint out_stride;   // floats between queries of the output
  float scale;       // 1 / sqrt(head_dim)
  uint query_lanes;  // queries per workgroup: 8 (batches) or 1 (one query)
};

#ifdef __cplusplus
static_assert(sizeof(AttentionParams) == 52);
}  // namespace bitlens::kernels
#endif

#endif
