// Batched fp32 forward and backward of the transformer's ops, for training and gradient saliency.
// Activations are row-major [tokens x width]; a batch is n_seq sequences of seq_len tokens, token t
// of the batch sitting at position t % seq_len of its sequence. Forwards compute what the inference
// ops of model/cpu_ops.h compute; backwards overwrite their outputs unless they say "+=".
// Work is split so that each output element is summed by one thread in a fixed order: results do
// not depend on the thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace bitlens::train {

struct BatchShape {
  size_t n_seq = 0, seq_len = 0;
  size_t tokens() const { return n_seq * seq_len; }
};

// out = x / sqrt(mean(x^2) + eps) * weight per row; inv_rms[t] keeps 1 / sqrt(mean + eps).
void rmsnorm_forward(const float* x, const float* weight, size_t tokens, size_t dim, float eps, float* out,
                     float* inv_rms);
// dx = d(rmsnorm)/dx^T dout (weight frozen).
void rmsnorm_backward(const float* x, const float* weight, const float* inv_rms, const float* dout, size_t tokens,
                      size_t dim, float* dx);

// cos/sin of every (position, pair) for rotary embeddings, computed as model::rope computes them.
class RopeTable {
 public:
  RopeTable(size_t seq_len, size_t head_dim, float theta);
  // Rotates every head of every row in place (inverse = true rotates back: the backward pass).
  void apply(float* x, BatchShape shape, size_t width, bool inverse) const;

 private:
  size_t seq_len_, head_dim_;
  std::vector<float> cos_, sin_;  // [seq_len x head_dim / 2]
};

// Causal grouped-query attention of every sequence: q [tokens x n_heads*head_dim], k and v
// [tokens x n_kv_heads*head_dim]; probs [n_seq x n_heads x seq_len x seq_len] keeps the softmax
// (only j <= i is written and read).
struct AttentionShape {
  size_t n_heads, n_kv_heads, head_dim;
};
void attention_forward(const float* q, const float* k, const float* v, BatchShape shape, AttentionShape a,
                       float* probs, float* out);
void attention_backward(const float* q, const float* k, const float* v, const float* probs, const float* dout,
                        BatchShape shape, AttentionShape a, float* dq, float* dk, float* dv);

// out = silu(gate) * up elementwise; backward gives dgate and dup.
void swiglu_forward(const float* gate, const float* up, size_t n, float* out);
void swiglu_backward(const float* gate, const float* up, const float* dout, size_t n, float* dgate, float* dup);

// y [tokens x out] = x [tokens x in] W^T for W [out x in].
void linear_forward(const float* x, const float* w, size_t tokens, size_t in, size_t out, float* y);
// dx (+)= dy W; dw (+)= dy^T x. Either output may be null.
void linear_backward(const float* x, const float* w, const float* dy, size_t tokens, size_t in, size_t out,
                     float* dx, bool accumulate_dx, float* dw, bool accumulate_dw);

// Summed cross-entropy -log softmax(logits[i])[targets[i]] over the n = targets.size() rows of
// logits [n x vocab]; dlogits (if not null) gets (softmax - onehot) * scale, usually scale = 1/n.
double cross_entropy(const float* logits, std::span<const uint32_t> targets, size_t vocab, float* dlogits,
                     float scale);

}  // namespace bitlens::train
