// AdamW (Loshchilov & Hutter; PyTorch's torch.optim.AdamW): decoupled weight decay, bias-corrected
// first and second moments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace bitlens::train {

struct AdamWConfig {
  float lr = 1e-3f;
  float weight_decay = 0.0f;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
};

// Moments of one parameter tensor.
class AdamW {
 public:
  explicit AdamW(size_t n) : m_(n, 0.0f), v_(n, 0.0f) {}
  // p -= lr * (wd * p + m_hat / (sqrt(v_hat) + eps)) after updating the moments with g.
  void step(std::span<float> p, std::span<const float> g, const AdamWConfig& c);
  uint64_t steps() const { return t_; }

 private:
  std::vector<float> m_, v_;
  uint64_t t_ = 0;
};

}  // namespace bitlens::train
