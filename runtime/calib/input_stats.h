// Streaming calibration statistics of one linear layer's input x (docs/METHODS.md sections 2-3): from
// any number of batches of input rows X [tokens x in] it keeps, in memory independent of the
// token count, the per-channel sums of x^2, |x| and max |x|, the Gram matrix X^T X in double
// precision (for the Hessian H = 2 X^T X / n of GPTQ, OBS saliency and PTQ1.61's refinement), and a
// uniform reservoir sample of input rows (for SliM-LLM's KL search and output-error metrics).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace bitlens::calib {

class InputStats {
 public:
  // in: input features; sample_rows: rows kept in the reservoir; with_hessian: keep X^T X
  // (in^2 doubles).
  explicit InputStats(uint32_t in, uint32_t sample_rows = 256, bool with_hessian = true, uint64_t seed = 1);

  // Adds `tokens` rows of `in` floats each (x.size() == tokens * in).
  void add(std::span<const float> x, size_t tokens);

  uint32_t features() const { return in_; }
  uint64_t tokens() const { return tokens_; }
  bool has_hessian() const { return !gram_.empty(); }

  std::vector<float> mean_square() const;  // E[x_j^2] (= diag(H) / 2)
  std::vector<float> mean_abs() const;     // E[|x_j|]
  std::vector<float> max_abs() const;      // max |x_j|
  // H = 2 X^T X / n, full symmetric [in x in]; throws if built without it or before any token.
  std::vector<double> hessian() const;

  // The reservoir: sample_count() rows of `in` floats, a uniform sample of every row added.
  const std::vector<float>& sample() const { return sample_; }
  size_t sample_count() const { return sample_.size() / in_; }

 private:
  uint32_t in_;
  uint32_t sample_rows_;
  uint64_t tokens_ = 0;
  std::vector<double> sum_sq_, sum_abs_;
  std::vector<float> max_abs_;
  std::vector<double> gram_;  // upper triangle used, row-major [in x in]
  std::vector<float> sample_;
  std::mt19937_64 rng_;
};

}  // namespace bitlens::calib
