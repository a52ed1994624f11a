// The fp32 CPU forward pass (see cpu_forward.h), in the order of run.c's forward().
#include "model/cpu_forward.h"

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "common/fp16.h"
#include "common/parallel.h"
#include "model/cpu_ops.h"

namespace bitlens::model {

namespace {

std::span<float> row(std::vector<float>& v, size_t i, size_t width) { return {v.data() + i * width, width}; }

// x[i] += y[i]
void accumulate(std::span<float> x, std::span<const float> y) {
  for (size_t i = 0; i < x.size(); ++i) x[i] += y[i];
}

}  // namespace

CpuForward::CpuForward(Model model) : model_(std::move(model)) {
  check_shapes(model_, model_.source.empty() ? "model" : model_.source);
  const ModelConfig& c = model_.config;
  x_.resize(size_t(kMaxBatch) * c.dim);
  xb_.resize(x_.size());
  xb2_.resize(x_.size());
  q_.resize(x_.size());
  hb_.resize(size_t(kMaxBatch) * c.hidden_dim);
  hb2_.resize(hb_.size());
}

void CpuForward::reserve_positions(uint32_t positions) {
  if (positions <= capacity_) return;
  const ModelConfig& c = model_.config;
  const uint32_t capacity = std::min(c.seq_len, std::max({positions, 2 * capacity_, 64u}));
  const size_t kv_dim = c.kv_dim(), old_layer = size_t(capacity_) * kv_dim, new_layer = size_t(capacity) * kv_dim;
  for (std::vector<float>* cache : {&key_cache_, &value_cache_}) {
    std::vector<float> grown(c.n_layers * new_layer);
    for (uint32_t l = 0; l < c.n_layers; ++l)
      std::copy_n(cache->data() + l * old_layer, size_t(cached_) * kv_dim, grown.data() + l * new_layer);
    cache->swap(grown);
  }
  att_.assign(size_t(kMaxBatch) * capacity, 0.0f);
  capacity_ = capacity;
}

void CpuForward::assume_cached(uint32_t positions) {
  if (positions > model_.config.seq_len)
    throw Error("assume_cached: " + std::to_string(positions) + " positions exceed the model's context of " +
                std::to_string(model_.config.seq_len));
  reserve_positions(positions);  // the assumed positions must exist (keeps cached_ <= capacity_)
  cached_ = positions;
}

std::span<const float> CpuForward::prefill(std::span<const uint32_t> tokens, uint32_t start_pos, bool all_logits) {
  const ModelConfig& c = model_.config;
  if (tokens.empty()) throw Error("prefill: no tokens");
  if (start_pos > cached_)
    throw Error("prefill: position " + std::to_string(start_pos) + " follows only " + std::to_string(cached_) +
                " cached positions");
  if (uint64_t(start_pos) + tokens.size() > c.seq_len)
    throw Error("prefill: positions up to " + std::to_string(uint64_t(start_pos) + tokens.size()) +
                " exceed the model's context of " + std::to_string(c.seq_len));
  for (uint32_t t : tokens)
    if (t >= c.vocab_size)
      throw Error("prefill: token " + std::to_string(t) + " is outside the vocabulary of " +
                  std::to_string(c.vocab_size));

  const uint32_t n = uint32_t(tokens.size());
  reserve_positions(start_pos + n);
  logits_.resize(size_t(all_logits ? n : 1) * c.vocab_size);
  for (uint32_t b = 0; b < n; b += kMaxBatch) {
    const uint32_t len = std::min(kMaxBatch, n - b);
    const bool last = b + len == n;
    // Logits of the whole block, or of the final position only.
    const uint32_t from = all_logits ? 0 : (last ? len - 1 : len);
    float* out = all_logits ? &logits_[size_t(b) * c.vocab_size] : logits_.data();
    run_block(tokens.subspan(b, len), start_pos + b, from, out);
  }
  cached_ = start_pos + n;
  return logits_;
}

void CpuForward::run_block(std::span<const uint32_t> tokens, uint32_t start_pos, uint32_t logits_from, float* logits) {
  const ModelConfig& c = model_.config;
  const ModelWeights& w = model_.weights;
  const uint32_t n = uint32_t(tokens.size()), dim = c.dim, hidden = c.hidden_dim, kv_dim = c.kv_dim();
  const float* xb = xb_.data();

  // x = embedding rows of the tokens  [n x dim]
  for (uint32_t t = 0; t < n; ++t) std::memcpy(&x_[size_t(t) * dim], w.token_embedding.row(tokens[t]), dim * 4);

  for (uint32_t l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = w.layers[l];
    float* key_cache = &key_cache_[size_t(l) * capacity_ * kv_dim];      // [capacity_ x kv_dim]
    float* value_cache = &value_cache_[size_t(l) * capacity_ * kv_dim];  // [capacity_ x kv_dim]
    std::span<float> keys(key_cache + size_t(start_pos) * kv_dim, size_t(n) * kv_dim);
    std::span<float> values(value_cache + size_t(start_pos) * kv_dim, size_t(n) * kv_dim);

    // Attention: xb = rmsnorm(x); q, k, v = W xb (k and v straight into the cache); RoPE on q and k.
    for (uint32_t t = 0; t < n; ++t) rmsnorm(row(xb_, t, dim), row(x_, t, dim), lw.rms_att.span(), c.norm_eps);
    if (observer_) observer_(l, 0, {xb, size_t(n) * dim}, n);
    matmul(q_, lw.wq, {xb, size_t(n) * dim}, n);
    matmul(keys, lw.wk, {xb, size_t(n) * dim}, n);
    matmul(values, lw.wv, {xb, size_t(n) * dim}, n);
    for (uint32_t t = 0; t < n; ++t) {
      rope(row(q_, t, dim), start_pos + t, c.head_dim(), c.rope_theta);
      rope(keys.subspan(size_t(t) * kv_dim, kv_dim), start_pos + t, c.head_dim(), c.rope_theta);
    }
    if (kv_f16_) {
      for (float& v : keys) v = round_to_half(v);
      for (float& v : values) v = round_to_half(v);
    }
    attention_block(n, start_pos, key_cache, value_cache);  // xb = attention output
    if (observer_) observer_(l, 1, {xb, size_t(n) * dim}, n);
    matmul(xb2_, lw.wo, {xb, size_t(n) * dim}, n);
    accumulate({x_.data(), size_t(n) * dim}, xb2_);

    // Feed-forward: xb = rmsnorm(x); x += w2 (silu(w1 xb) * (w3 xb)).
    for (uint32_t t = 0; t < n; ++t) rmsnorm(row(xb_, t, dim), row(x_, t, dim), lw.rms_ffn.span(), c.norm_eps);
    if (observer_) observer_(l, 2, {xb, size_t(n) * dim}, n);
    matmul(hb_, lw.w1, {xb, size_t(n) * dim}, n);
    matmul(hb2_, lw.w3, {xb, size_t(n) * dim}, n);
    swiglu({hb_.data(), size_t(n) * hidden}, hb2_);
    if (observer_) observer_(l, 3, {hb_.data(), size_t(n) * hidden}, n);
    matmul(xb2_, lw.w2, {hb_.data(), size_t(n) * hidden}, n);
    accumulate({x_.data(), size_t(n) * dim}, xb2_);
  }

  // logits = classifier rmsnorm(x) for the positions asked for.
  if (logits_from >= n) return;
  const uint32_t count = n - logits_from;
  for (uint32_t t = logits_from; t < n; ++t) rmsnorm(row(xb_, t, dim), row(x_, t, dim), w.rms_final.span(), c.norm_eps);
  matmul({logits, size_t(count) * c.vocab_size}, w.classifier, {xb + size_t(logits_from) * dim, size_t(count) * dim},
         count);
}

// xb[t] = causal attention of position start_pos + t over the cache, one position per task.
void CpuForward::attention_block(uint32_t n, uint32_t start_pos, const float* key_cache, const float* value_cache) {
  const ModelConfig& c = model_.config;
  const size_t cache_size = size_t(capacity_) * c.kv_dim();
  parallel_for(n, [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t)
      attention(row(xb_, t, c.dim), row(q_, t, c.dim), {key_cache, cache_size}, {value_cache, cache_size},
                start_pos + uint32_t(t), c.n_heads, c.n_kv_heads, c.head_dim(), row(att_, t, capacity_));
  });
}

}  // namespace bitlens::model
