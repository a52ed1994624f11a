// Push constants of the rotary embedding + KV-cache write (shared by C++ and GLSL).
#ifndef BITLENS_PARAMS_ROPE_H
#define BITLENS_PARAMS_ROPE_H

#ifdef __cplusplus
#include <cstdint>
namespace bitlens::kernels {
using uint = uint32_t;
#endif

// For token t < n at position pos = step.pos0 + t: q (n_heads heads) is rotated in place; k is
// rotated and v copied into row pos of the caches, whose rows hold n_kv_heads heads of
// head_vec4s * 4 floats (the columns past head_dim are written as zero).
struct RopeParams {
  uint n;            // tokens
  uint n_heads;
  uint n_kv_heads;
  uint head_dim;     // even
  uint head_vec4s;   // elements per padded head in the cache / 4 (KvCache::head_elements)
  uint seq_len;      // cache rows
  uint q_offset;     // first float of q of token 0 (even)
  uint k_offset;     // first float of k of token 0 (even)
  uint v_offset;     // first float of v of token 0 (even)
  uint stride;       // floats between tokens of the q/k/v buffer (even)
};

#ifdef __cplusplus
static_assert(sizeof(RopeParams) == 40);
}  // namespace bitlens::kernels
#endif

#endif
