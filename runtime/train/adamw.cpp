// AdamW update (see adamw.h).
#include "train/adamw.h"

#include <cmath>

#include "common/error.h"

namespace bitlens::train {

void AdamW::step(std::span<float> p, std::span<const float> g, const AdamWConfig& c) {
  if (p.size() != m_.size() || g.size() != m_.size()) throw Error("AdamW: parameter and gradient sizes differ");
  ++t_;
  const float bc1 = 1.0f - float(std::pow(double(c.beta1), double(t_)));
  const float bc2 = 1.0f - float(std::pow(double(c.beta2), double(t_)));
  for (size_t i = 0; i < p.size(); ++i) {
    p[i] -= c.lr * c.weight_decay * p[i];
    m_[i] = c.beta1 * m_[i] + (1.0f - c.beta1) * g[i];
    v_[i] = c.beta2 * v_[i] + (1.0f - c.beta2) * g[i] * g[i];
    p[i] -= c.lr * (m_[i] / bc1) / (std::sqrt(v_[i] / bc2) + c.eps);
  }
}

}  // namespace bitlens::train
