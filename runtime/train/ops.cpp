// Batched training ops (see ops.h).
#include "train/ops.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/parallel.h"
#include "model/cpu_ops.h"
#include "train/gemm.h"

namespace bitlens::train {

void rmsnorm_forward(const float* x, const float* weight, size_t tokens, size_t dim, float eps, float* out,
                     float* inv_rms) {
  parallel_for(tokens, [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t) {
      const float* xt = x + t * dim;
      double ss = 0.0;
      for (size_t i = 0; i < dim; ++i) ss += double(xt[i]) * xt[i];
      const float inv = float(1.0 / std::sqrt(ss / double(dim) + double(eps)));
      inv_rms[t] = inv;
      float* o = out + t * dim;
      for (size_t i = 0; i < dim; ++i) o[i] = weight[i] * (inv * xt[i]);
    }
  }, 16);
}

void rmsnorm_backward(const float* x, const float* weight, const float* inv_rms, const float* dout, size_t tokens,
                      size_t dim, float* dx) {
  parallel_for(tokens, [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t) {
      const float *xt = x + t * dim, *dy = dout + t * dim;
      const float r = inv_rms[t];
      double dot = 0.0;  // sum_i dy_i w_i x_i
      for (size_t i = 0; i < dim; ++i) dot += double(dy[i]) * weight[i] * xt[i];
      const float c = float(dot) * r * r * r / float(dim);
      float* d = dx + t * dim;
      for (size_t i = 0; i < dim; ++i) d[i] = weight[i] * r * dy[i] - c * xt[i];
    }
  }, 16);
}

RopeTable::RopeTable(size_t seq_len, size_t head_dim, float theta) : seq_len_(seq_len), head_dim_(head_dim) {
  if (head_dim % 2) throw Error("rope: head_dim must be even, got " + std::to_string(head_dim));
  const size_t pairs = head_dim / 2;
  cos_.resize(seq_len * pairs);
  sin_.resize(seq_len * pairs);
  for (size_t pos = 0; pos < seq_len; ++pos)
    for (size_t p = 0; p < pairs; ++p) {
      const float freq = 1.0f / std::pow(theta, float(2 * p) / float(head_dim));
      const float val = float(pos) * freq;
      cos_[pos * pairs + p] = std::cos(val);
      sin_[pos * pairs + p] = std::sin(val);
    }
}

void RopeTable::apply(float* x, BatchShape shape, size_t width, bool inverse) const {
  if (shape.seq_len > seq_len_) throw Error("rope: sequence longer than the table");
  const size_t pairs = head_dim_ / 2;
  parallel_for(shape.tokens(), [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t) {
      const size_t pos = t % shape.seq_len;
      const float *c = &cos_[pos * pairs], *s = &sin_[pos * pairs];
      float* row = x + t * width;
      for (size_t i = 0; i + 1 < width; i += 2) {
        const size_t p = (i % head_dim_) / 2;
        const float sn = inverse ? -s[p] : s[p];
        const float v0 = row[i], v1 = row[i + 1];
        row[i] = v0 * c[p] - v1 * sn;
        row[i + 1] = v0 * sn + v1 * c[p];
      }
    }
  }, 16);
}

// Attention runs as small GEMMs per (sequence, head): S = Q K^T, P = causal softmax(S / sqrt(d)),
// O = P V; the upper triangle of P is kept at zero so that the full products stay causal. Jobs
// call the GEMM from inside parallel_for, where it runs on the job's own thread.
void attention_forward(const float* q, const float* k, const float* v, BatchShape shape, AttentionShape a,
                       float* probs, float* out) {
  const size_t T = shape.seq_len, hd = a.head_dim, group = a.n_heads / a.n_kv_heads;
  const size_t qw = a.n_heads * hd, kw = a.n_kv_heads * hd;
  const float inv_sqrt = 1.0f / std::sqrt(float(hd));
  parallel_for(shape.n_seq * a.n_heads, [&](size_t j0, size_t j1) {
    for (size_t job = j0; job < j1; ++job) {
      const size_t s = job / a.n_heads, h = job % a.n_heads, kvh = h / group, base = s * T;
      float* p = probs + (s * a.n_heads + h) * T * T;
      gemm(false, true, T, T, hd, q + base * qw + h * hd, qw, k + base * kw + kvh * hd, kw, p, T, false);
      for (size_t i = 0; i < T; ++i) {
        float* row = p + i * T;
        for (size_t j = 0; j <= i; ++j) row[j] *= inv_sqrt;
        model::softmax({row, i + 1});
        std::fill(row + i + 1, row + T, 0.0f);
      }
      gemm(false, false, T, hd, T, p, T, v + base * kw + kvh * hd, kw, out + base * qw + h * hd, qw, false);
    }
  });
}

void attention_backward(const float* q, const float* k, const float* v, const float* probs, const float* dout,
                        BatchShape shape, AttentionShape a, float* dq, float* dk, float* dv) {
  const size_t T = shape.seq_len, hd = a.head_dim, group = a.n_heads / a.n_kv_heads;
  const size_t qw = a.n_heads * hd, kw = a.n_kv_heads * hd;
  const float inv_sqrt = 1.0f / std::sqrt(float(hd));
  // One job per (sequence, kv head): it owns the dk, dv rows of that head, summed over its query heads.
  parallel_for(shape.n_seq * a.n_kv_heads, [&](size_t j0, size_t j1) {
    std::vector<float> ds(T * T);
    for (size_t job = j0; job < j1; ++job) {
      const size_t s = job / a.n_kv_heads, kvh = job % a.n_kv_heads, base = s * T;
      const float *kh = k + base * kw + kvh * hd, *vh = v + base * kw + kvh * hd;
      float *dkh = dk + base * kw + kvh * hd, *dvh = dv + base * kw + kvh * hd;
      for (size_t h = kvh * group; h < (kvh + 1) * group; ++h) {
        const float* p = probs + (s * a.n_heads + h) * T * T;
        const float *doh = dout + base * qw + h * hd, *qh = q + base * qw + h * hd;
        const bool first = h == kvh * group;
        // dV += P^T dO
        gemm(true, false, T, hd, T, p, T, doh, qw, dvh, kw, !first);
        // dP = dO V^T; dS = P * (dP - rowsum(P * dP)) / sqrt(d)
        gemm(false, true, T, T, hd, doh, qw, vh, kw, ds.data(), T, false);
        for (size_t i = 0; i < T; ++i) {
          const float* pi = p + i * T;
          float* di = ds.data() + i * T;
          float sum = 0.0f;
          for (size_t j = 0; j <= i; ++j) sum += pi[j] * di[j];
          for (size_t j = 0; j <= i; ++j) di[j] = pi[j] * (di[j] - sum) * inv_sqrt;
          std::fill(di + i + 1, di + T, 0.0f);
        }
        // dQ = dS K; dK += dS^T Q
        gemm(false, false, T, hd, T, ds.data(), T, kh, kw, dq + base * qw + h * hd, qw, false);
        gemm(true, false, T, hd, T, ds.data(), T, qh, qw, dkh, kw, !first);
      }
    }
  });
}

void swiglu_forward(const float* gate, const float* up, size_t n, float* out) {
  parallel_for(n, [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; ++i) {
      const float g = gate[i];
      out[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
  }, 4096);
}

void swiglu_backward(const float* gate, const float* up, const float* dout, size_t n, float* dgate, float* dup) {
  parallel_for(n, [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; ++i) {
      const float g = gate[i], sg = 1.0f / (1.0f + std::exp(-g));
      dup[i] = dout[i] * g * sg;
      dgate[i] = dout[i] * up[i] * sg * (1.0f + g * (1.0f - sg));
    }
  }, 4096);
}

void linear_forward(const float* x, const float* w, size_t tokens, size_t in, size_t out, float* y) {
  gemm_nt(tokens, out, in, x, w, y, false);
}

void linear_backward(const float* x, const float* w, const float* dy, size_t tokens, size_t in, size_t out,
                     float* dx, bool accumulate_dx, float* dw, bool accumulate_dw) {
  if (dx) gemm_nn(tokens, in, out, dy, w, dx, accumulate_dx);
  if (dw) gemm_tn(out, in, tokens, dy, x, dw, accumulate_dw);
}

double cross_entropy(const float* logits, std::span<const uint32_t> targets, size_t vocab, float* dlogits,
                     float scale) {
  const size_t n = targets.size();
  std::vector<double> nll(n);
  parallel_for(n, [&](size_t r0, size_t r1) {
    std::vector<float> e(dlogits ? 0 : vocab);
    for (size_t r = r0; r < r1; ++r) {
      const uint32_t target = targets[r];
      if (target >= vocab) throw Error("cross_entropy: target " + std::to_string(target) + " outside the vocabulary");
      const float* l = logits + r * vocab;
      float* ex = dlogits ? dlogits + r * vocab : e.data();  // exp(l - max), then the gradient
      const float mx = *std::max_element(l, l + vocab);
      double sum = 0.0;
      for (size_t i = 0; i < vocab; ++i) {
        ex[i] = std::exp(l[i] - mx);
        sum += ex[i];
      }
      nll[r] = double(mx) + std::log(sum) - double(l[target]);
      if (dlogits) {
        const float k = float(scale / sum);
        for (size_t i = 0; i < vocab; ++i) ex[i] *= k;
        ex[target] -= scale;
      }
    }
  });
  double total = 0.0;
  for (double v : nll) total += v;
  return total;
}

}  // namespace bitlens::train
