// Decoding of the low-bit formats (runtime/quant/layouts/{ternary,tritplane,mixed,ptq161}.h) for
// the lowbit mat-vec and mat-mul kernels. Define one of FORMAT_TERNARY, FORMAT_TRITPLANE,
// FORMAT_MIXED, FORMAT_PTQ161 and declare the push constants `p` (MatMulParams) before including.
// Every format provides the same hooks, so one kernel body serves all of them:
//   format_init()                      per-invocation setup (section offsets from the buffer)
//   ChunkShared load_chunk_shared(c)   what chunk c needs for every tile (width, salient mask)
//   bool params_stale(c)               chunk c needs other parameters than chunk c - 1
//   TileParams load_params(tile, c)    the 8 rows' parameters that apply to chunk c
//   TileChunk load_tile_chunk(tile, c, shared)   the codes of 8 rows x 32 columns
//   dequant_row(chunk, params, shared, i, out vec4 wv[8])   w_hat of row i, columns 0..31
// PTQ1.61 also defines HAS_SALIENT and the salient-column pass (lowbit_ptq161.glsl).
#ifndef LOWBIT_GLSL
#define LOWBIT_GLSL

#define TILE_ROWS 8

layout(binding = 0) uniform usamplerBuffer W;

uint fetch_word(uint w) { return texelFetch(W, int(w >> 2))[w & 3u]; }

// Unpacks `n` texels starting at texel t0 into words[0 .. 4n).
#define FETCH_TEXELS(words, t0, n)                                   \
  [[unroll]] for (uint k_ = 0; k_ < (n); ++k_) {                     \
    const uvec4 v_ = texelFetch(W, int((t0) + k_));                  \
    words[4 * k_] = v_.x;                                            \
    words[4 * k_ + 1] = v_.y;                                        \
    words[4 * k_ + 2] = v_.z;                                        \
    words[4 * k_ + 3] = v_.w;                                        \
  }

#if defined(FORMAT_TERNARY) || defined(FORMAT_TRITPLANE)
#include "lowbit_trits.glsl"
#elif defined(FORMAT_MIXED)
#include "lowbit_mixed.glsl"
#elif defined(FORMAT_PTQ161)
#include "lowbit_ptq161.glsl"
#else
#error "define one FORMAT_* of the low-bit formats"
#endif

#endif
