// Sampler: picks the next token from logits: greedy (temperature 0), or a draw from the softmax
// at a temperature restricted to the top_k most likely tokens and to the smallest set whose
// probability reaches top_p (nucleus). Draws come from a seeded generator of its own, so a seed
// gives the same tokens on every run and platform.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace bitlens::model {

struct SamplerOptions {
  float temperature = 0.0f;  // 0: greedy (argmax)
  uint32_t top_k = 0;        // 0: no limit
  float top_p = 1.0f;        // 1: no nucleus cut
  uint64_t seed = 42;
};

class Sampler {
 public:
  explicit Sampler(SamplerOptions options);  // throws Error on a negative temperature or top_p outside (0, 1]

  uint32_t sample(std::span<const float> logits);
  // The distribution sample() draws from (probabilities over the vocabulary, zeros outside the
  // top-k / top-p set); for tests and inspection. Greedy puts all mass on the argmax.
  std::vector<float> distribution(std::span<const float> logits) const;
  const SamplerOptions& options() const { return options_; }

 private:
  float next_uniform();  // in [0, 1)

  SamplerOptions options_;
  uint64_t state_;
};

uint32_t argmax(std::span<const float> values);

}  // namespace bitlens::model
