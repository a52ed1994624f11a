// Greedy, temperature, top-k and top-p sampling (see sampler.h).
#include "model/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"

namespace bitlens::model {

uint32_t argmax(std::span<const float> values) {
  if (values.empty()) throw Error("argmax of an empty vector");
  return uint32_t(std::max_element(values.begin(), values.end()) - values.begin());
}

Sampler::Sampler(SamplerOptions options) : options_(options), state_(options.seed ^ 0x9e3779b97f4a7c15ull) {
  if (!(options_.temperature >= 0.0f)) throw Error("sampler: temperature must be >= 0");
  if (!(options_.top_p > 0.0f && options_.top_p <= 1.0f)) throw Error("sampler: top_p must lie in (0, 1]");
  if (state_ == 0) state_ = 1;
}

float Sampler::next_uniform() {  // xorshift64*, top 24 bits
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return float((state_ * 0x2545f4914f6cdd1dull) >> 40) / 16777216.0f;
}

std::vector<float> Sampler::distribution(std::span<const float> logits) const {
  std::vector<float> p(logits.size(), 0.0f);
  if (options_.temperature == 0.0f) {
    p[argmax(logits)] = 1.0f;
    return p;
  }
  // Candidates by decreasing logit (ties by index), cut to top_k; sorted only when a cut needs it.
  std::vector<uint32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0u);
  const size_t k = options_.top_k ? std::min<size_t>(options_.top_k, order.size()) : order.size();
  if (k < order.size() || options_.top_p < 1.0f) {
    auto by_logit = [&](uint32_t a, uint32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
    std::partial_sort(order.begin(), order.begin() + k, order.end(), by_logit);
    order.resize(k);
  }
  // softmax(logits / T) over the candidates.
  const float inv_t = 1.0f / options_.temperature, top = logits[argmax(logits)];
  std::vector<double> w(k);
  double sum = 0.0;
  for (size_t i = 0; i < k; ++i) sum += w[i] = std::exp(double(logits[order[i]] - top) * inv_t);
  // Nucleus: the shortest prefix whose probability reaches top_p.
  size_t keep = k;
  if (options_.top_p < 1.0f) {
    double cum = 0.0;
    for (size_t i = 0; i < k; ++i) {
      cum += w[i] / sum;
      if (cum >= options_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  double kept = 0.0;
  for (size_t i = 0; i < keep; ++i) kept += w[i];
  for (size_t i = 0; i < keep; ++i) p[order[i]] = float(w[i] / kept);
  return p;
}

uint32_t Sampler::sample(std::span<const float> logits) {
  if (options_.temperature == 0.0f) return argmax(logits);
  const std::vector<float> p = distribution(logits);
  const float coin = next_uniform();
  float cum = 0.0f;
  uint32_t last = 0;
  for (uint32_t i = 0; i < p.size(); ++i) {
    if (p[i] == 0.0f) continue;
    cum += p[i];
    last = i;
    if (coin < cum) return i;
  }
  return last;  // rounding left the sum just below the coin
}

}  // namespace bitlens::model
