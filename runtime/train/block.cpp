// Forward and backward of one transformer block over a batch (see block.h).
#include "train/block.h"

#include "common/error.h"

namespace bitlens::train {

using model::Linear;

BlockWeights block_weights(const model::Model& m, size_t layer) {
  if (layer >= m.weights.layers.size()) throw Error("block_weights: no layer " + std::to_string(layer));
  const model::LayerWeights& l = m.weights.layers[layer];
  BlockWeights w;
  w.rms_att = l.rms_att.data;
  w.rms_ffn = l.rms_ffn.data;
  for (uint32_t i = 0; i < model::kLinearsPerLayer; ++i) w.linear[i] = l.linear(Linear(i)).data;
  return w;
}

LinearShape linear_shape(const model::ModelConfig& c, Linear l) {
  switch (l) {
    case Linear::Wq: return {c.dim, c.dim};
    case Linear::Wk:
    case Linear::Wv: return {c.kv_dim(), c.dim};
    case Linear::Wo: return {c.dim, c.dim};
    case Linear::W1:
    case Linear::W3: return {c.hidden_dim, c.dim};
    case Linear::W2: return {c.dim, c.hidden_dim};
  }
  throw Error("linear_shape: unknown linear");
}

Block::Block(const model::ModelConfig& config)
    : c_(config), rope_(config.seq_len, config.head_dim(), config.rope_theta) {}

void Block::forward(const BlockWeights& w, BatchShape shape, const float* x, float* y, BlockActivations& a) const {
  if (shape.seq_len > c_.seq_len) throw Error("block forward: sequences longer than the model's context");
  const size_t T = shape.tokens(), dim = c_.dim, kvd = c_.kv_dim(), hid = c_.hidden_dim;
  a.shape = shape;
  a.x.assign(x, x + T * dim);
  a.n1.resize(T * dim);
  a.inv1.resize(T);
  a.q.resize(T * dim);
  a.k.resize(T * kvd);
  a.v.resize(T * kvd);
  a.probs.resize(shape.n_seq * c_.n_heads * shape.seq_len * shape.seq_len);
  a.att.resize(T * dim);
  a.h.resize(T * dim);
  a.n2.resize(T * dim);
  a.inv2.resize(T);
  a.gate.resize(T * hid);
  a.up.resize(T * hid);
  a.act.resize(T * hid);

  const auto lin = [&](Linear l) { return w.linear[uint32_t(l)]; };
  rmsnorm_forward(x, w.rms_att, T, dim, c_.norm_eps, a.n1.data(), a.inv1.data());
  linear_forward(a.n1.data(), lin(Linear::Wq), T, dim, dim, a.q.data());
  linear_forward(a.n1.data(), lin(Linear::Wk), T, dim, kvd, a.k.data());
  linear_forward(a.n1.data(), lin(Linear::Wv), T, dim, kvd, a.v.data());
  rope_.apply(a.q.data(), shape, dim, false);
  rope_.apply(a.k.data(), shape, kvd, false);
  attention_forward(a.q.data(), a.k.data(), a.v.data(), shape, {c_.n_heads, c_.n_kv_heads, c_.head_dim()},
                    a.probs.data(), a.att.data());
  linear_forward(a.att.data(), lin(Linear::Wo), T, dim, dim, a.h.data());
  for (size_t i = 0; i < T * dim; ++i) a.h[i] += x[i];
  rmsnorm_forward(a.h.data(), w.rms_ffn, T, dim, c_.norm_eps, a.n2.data(), a.inv2.data());
  linear_forward(a.n2.data(), lin(Linear::W1), T, dim, hid, a.gate.data());
  linear_forward(a.n2.data(), lin(Linear::W3), T, dim, hid, a.up.data());
  swiglu_forward(a.gate.data(), a.up.data(), T * hid, a.act.data());
  linear_forward(a.act.data(), lin(Linear::W2), T, hid, dim, y);
  for (size_t i = 0; i < T * dim; ++i) y[i] += a.h[i];
}

namespace {

// sq[i] += sum over the T rows of d of d[t, i]^2, for a [T x n] gradient.
void add_squares(const float* d, size_t T, size_t n, std::vector<double>& sq) {
  sq.resize(n, 0.0);
  for (size_t t = 0; t < T; ++t)
    for (size_t i = 0; i < n; ++i) sq[i] += double(d[t * n + i]) * double(d[t * n + i]);
}

}  // namespace

void Block::backward(const BlockWeights& w, BlockActivations& a, const float* dy, float* dx,
                     const std::array<float*, model::kLinearsPerLayer>& dw, OutputSquares* out_sq) const {
  const BatchShape shape = a.shape;
  const size_t T = shape.tokens(), dim = c_.dim, kvd = c_.kv_dim(), hid = c_.hidden_dim;
  const auto lin = [&](Linear l) { return w.linear[uint32_t(l)]; };
  const auto grad = [&](Linear l) { return dw[uint32_t(l)]; };

  std::vector<float>&dact = a.d_act, &dgate = a.d_gate, &dup = a.d_up, &dn2 = a.d_n2, &dh = a.d_h, &datt = a.d_att,
                    &dq = a.d_q, &dk = a.d_k, &dv = a.d_v, &dn1 = a.d_n1;
  for (auto* v : {&dact, &dgate, &dup}) v->resize(T * hid);
  for (auto* v : {&dn2, &dh, &datt, &dq}) v->resize(T * dim);
  for (auto* v : {&dk, &dv}) v->resize(T * kvd);
  dn1.resize(dx ? T * dim : 0);

  const auto squares = [&](Linear l, const float* d, size_t n) {
    if (out_sq) add_squares(d, T, n, (*out_sq)[uint32_t(l)]);
  };

  // Feed-forward half: y = h + W2 act.
  squares(Linear::W2, dy, dim);
  linear_backward(a.act.data(), lin(Linear::W2), dy, T, hid, dim, dact.data(), false, grad(Linear::W2), false);
  swiglu_backward(a.gate.data(), a.up.data(), dact.data(), T * hid, dgate.data(), dup.data());
  squares(Linear::W1, dgate.data(), hid);
  squares(Linear::W3, dup.data(), hid);
  linear_backward(a.n2.data(), lin(Linear::W1), dgate.data(), T, dim, hid, dn2.data(), false, grad(Linear::W1), false);
  linear_backward(a.n2.data(), lin(Linear::W3), dup.data(), T, dim, hid, dn2.data(), true, grad(Linear::W3), false);
  rmsnorm_backward(a.h.data(), w.rms_ffn, a.inv2.data(), dn2.data(), T, dim, dh.data());
  for (size_t i = 0; i < T * dim; ++i) dh[i] += dy[i];

  // Attention half: h = x + Wo att.
  squares(Linear::Wo, dh.data(), dim);
  linear_backward(a.att.data(), lin(Linear::Wo), dh.data(), T, dim, dim, datt.data(), false, grad(Linear::Wo), false);
  attention_backward(a.q.data(), a.k.data(), a.v.data(), a.probs.data(), datt.data(), shape,
                     {c_.n_heads, c_.n_kv_heads, c_.head_dim()}, dq.data(), dk.data(), dv.data());
  rope_.apply(dq.data(), shape, dim, true);
  rope_.apply(dk.data(), shape, kvd, true);
  squares(Linear::Wq, dq.data(), dim);
  squares(Linear::Wk, dk.data(), kvd);
  squares(Linear::Wv, dv.data(), kvd);
  float* dn1p = dx ? dn1.data() : nullptr;  // the input gradient is skipped when nobody wants it
  linear_backward(a.n1.data(), lin(Linear::Wq), dq.data(), T, dim, dim, dn1p, false, grad(Linear::Wq), false);
  linear_backward(a.n1.data(), lin(Linear::Wk), dk.data(), T, dim, kvd, dn1p, true, grad(Linear::Wk), false);
  linear_backward(a.n1.data(), lin(Linear::Wv), dv.data(), T, dim, kvd, dn1p, true, grad(Linear::Wv), false);
  if (!dx) return;
  rmsnorm_backward(a.x.data(), w.rms_att, a.inv1.data(), dn1.data(), T, dim, dx);
  for (size_t i = 0; i < T * dim; ++i) dx[i] += dh[i];
}

}  // namespace bitlens::train
