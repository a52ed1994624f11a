// The fp32 building blocks of a LLaMA forward pass on the CPU (as in llama2.c's run.c). They are
// the reference every Vulkan op is tested against and what the CPU forward pass is made of.
#pragma once

#include <cstdint>
#include <span>

#include "model/weights.h"

namespace bitlens::model {

// out = x / sqrt(mean(x^2) + eps) * weight
void rmsnorm(std::span<float> out, std::span<const float> x, std::span<const float> weight, float eps);

// out = W x for W [rows x cols] (multi-threaded over rows).
void matvec(std::span<float> out, const Matrix& w, std::span<const float> x);
// out[t] = W x[t] for a batch of row vectors: x [batch x cols], out [batch x rows]. Each output is
// computed exactly as matvec computes it, so a batch gives the same values as one vector at a time.
void matmul(std::span<float> out, const Matrix& w, std::span<const float> x, size_t batch);

// Rotary position embedding of every head of `vec` (adjacent pairs (2i, 2i+1) of each head are
// rotated by pos * theta^(-2i / head_dim)), in place.
void rope(std::span<float> vec, uint32_t pos, uint32_t head_dim, float theta);

void softmax(std::span<float> x);

// gate = silu(gate) * up, in place.
void swiglu(std::span<float> gate, std::span<const float> up);

// Attention of one query position over positions [0, pos]: for each query head h (kv head
// h / (n_heads / n_kv_heads)), scores = q_h . k_t / sqrt(head_dim), softmax, out_h = sum p_t v_t.
// key_cache/value_cache hold [seq_len x kv_dim] for this layer; scratch needs pos + 1 floats.
void attention(std::span<float> out, std::span<const float> q, std::span<const float> key_cache,
               std::span<const float> value_cache, uint32_t pos, uint32_t n_heads, uint32_t n_kv_heads,
               uint32_t head_dim, std::span<float> scratch);

}  // namespace bitlens::model
