// fp32 reference ops (see cpu_ops.h).
#include "model/cpu_ops.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "quant/cpu_matmul.h"

namespace bitlens::model {

void rmsnorm(std::span<float> out, std::span<const float> x, std::span<const float> weight, float eps) {
  const size_t n = x.size();
  double ss = 0.0;
  for (size_t i = 0; i < n; ++i) ss += double(x[i]) * x[i];
  const float inv = float(1.0 / std::sqrt(ss / double(n) + double(eps)));
  for (size_t i = 0; i < n; ++i) out[i] = weight[i] * (inv * x[i]);
}

void matvec(std::span<float> out, const Matrix& w, std::span<const float> x) { matmul(out, w, x, 1); }

void matmul(std::span<float> out, const Matrix& w, std::span<const float> x, size_t batch) {
  if (x.size() < batch * w.cols || out.size() < batch * w.rows)
    throw Error("matmul: vector sizes do not match the matrix");
  quant::cpu_matmul(w.span(), w.rows, w.cols, x, batch, out);
}

void rope(std::span<float> vec, uint32_t pos, uint32_t head_dim, float theta) {
  for (size_t i = 0; i + 1 < vec.size(); i += 2) {
    const uint32_t hd = uint32_t(i % head_dim);
    const float freq = 1.0f / std::pow(theta, float(hd) / float(head_dim));
    const float val = float(pos) * freq;
    const float c = std::cos(val), s = std::sin(val);
    const float v0 = vec[i], v1 = vec[i + 1];
    vec[i] = v0 * c - v1 * s;
    vec[i + 1] = v0 * s + v1 * c;
  }
}

void softmax(std::span<float> x) {
  if (x.empty()) return;
  const float mx = *std::max_element(x.begin(), x.end());
  double sum = 0.0;
  for (float& v : x) {
    v = std::exp(v - mx);
    sum += v;
  }
  const float inv = float(1.0 / sum);
  for (float& v : x) v *= inv;
}

void swiglu(std::span<float> gate, std::span<const float> up) {
  for (size_t i = 0; i < gate.size(); ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void attention(std::span<float> out, std::span<const float> q, std::span<const float> key_cache,
               std::span<const float> value_cache, uint32_t pos, uint32_t n_heads, uint32_t n_kv_heads,
               uint32_t head_dim, std::span<float> scratch) {
  const uint32_t kv_dim = head_dim * n_kv_heads, group = n_heads / n_kv_heads;
  const float inv_sqrt = 1.0f / std::sqrt(float(head_dim));
  std::span<float> att = scratch.subspan(0, pos + 1);
  for (uint32_t h = 0; h < n_heads; ++h) {
    const float* qh = &q[size_t(h) * head_dim];
    const size_t kv_off = size_t(h / group) * head_dim;
    for (uint32_t t = 0; t <= pos; ++t) {
      const float* k = &key_cache[size_t(t) * kv_dim + kv_off];
      float s = 0.0f;
      for (uint32_t i = 0; i < head_dim; ++i) s += qh[i] * k[i];
      att[t] = s * inv_sqrt;
    }
    softmax(att);
    float* oh = &out[size_t(h) * head_dim];
    std::fill(oh, oh + head_dim, 0.0f);
    for (uint32_t t = 0; t <= pos; ++t) {
      const float* v = &value_cache[size_t(t) * kv_dim + kv_off];
      for (uint32_t i = 0; i < head_dim; ++i) oh[i] += att[t] * v[i];
    }
  }
}

}  // namespace bitlens::model
