// Push constants of the embedding lookup (shared by C++ and GLSL: 32-bit scalars only).
#ifndef BITLENS_PARAMS_EMBEDDING_H
#define BITLENS_PARAMS_EMBEDDING_H

#ifdef __cplusplus
#include <cstdint>
namespace bitlens::kernels {
using uint = uint32_t;
#endif

// out[t][c] = table[tokens[tokens_offset + t]][c] (dequantized) for t < n, c < cols.
struct EmbeddingParams {
  uint rows;              // vocabulary size
  uint cols;              // embedding width
  uint chunks;            // ceil(cols / 32)
  uint chunks_per_group;  // group_size / 32 (0 for float formats)
  uint groups;            // ceil(cols / group_size) (0 for float formats)
  uint params_texel;      // first uvec4 texel of the group parameters
  uint n;                 // tokens
  uint tokens_offset;     // first token id in the token buffer
  uint out_offset;        // first float of out
  uint out_stride;        // floats between tokens of out
};

#ifdef __cplusplus
static_assert(sizeof(EmbeddingParams) == 40);
}  // namespace bitlens::kernels
#endif

#endif
