// Sampler: greedy is argmax, a seed fixes the draws, top-k and top-p restrict the support as
// defined, the distribution is a tempered softmax, and draws follow it.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "common/error.h"
#include "gpu_test.h"
#include "model/sampler.h"

using namespace bitlens;
using model::Sampler;

namespace {

std::vector<float> random_logits(size_t n, uint64_t seed) { return test::random_normal(n, seed, 2.0f); }

}  // namespace

TEST(Sampler, GreedyIsArgmax) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const std::vector<float> logits = random_logits(1000, seed);
  Sampler s({});
  const uint32_t best = uint32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
  EXPECT_EQ(s.sample(logits), best);
  EXPECT_EQ(s.distribution(logits)[best], 1.0f);
}

TEST(Sampler, SeedFixesTheDraws) {
  const std::vector<float> logits = random_logits(500, 5);
  auto draws = [&](uint64_t seed) {
    Sampler s({.temperature = 1.0f, .top_k = 40, .top_p = 0.9f, .seed = seed});
    std::vector<uint32_t> out;
    for (int i = 0; i < 200; ++i) out.push_back(s.sample(logits));
    return out;
  };
  EXPECT_EQ(draws(7), draws(7));
  EXPECT_NE(draws(7), draws(8));
}

TEST(Sampler, DistributionIsTemperedSoftmax) {
  const std::vector<float> logits = {1.0f, 2.0f, 0.0f, -1.0f};
  const Sampler s({.temperature = 0.5f});
  const std::vector<float> p = s.distribution(logits);
  double z = 0.0;
  for (float l : logits) z += std::exp(l / 0.5);
  for (size_t i = 0; i < logits.size(); ++i) EXPECT_NEAR(p[i], std::exp(logits[i] / 0.5) / z, 1e-6) << i;
}

TEST(Sampler, TopKKeepsTheKMostLikely) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const std::vector<float> logits = random_logits(1000, seed);
  const Sampler s({.temperature = 1.0f, .top_k = 10});
  const std::vector<float> p = s.distribution(logits);
  std::vector<float> sorted = logits;
  std::sort(sorted.rbegin(), sorted.rend());
  double sum = 0.0;
  int support = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    sum += p[i];
    if (p[i] > 0.0f) {
      ++support;
      EXPECT_GE(logits[i], sorted[9]) << i;
    }
  }
  EXPECT_EQ(support, 10);
  EXPECT_NEAR(sum, 1.0, 1e-5);
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  // Probabilities 0.5, 0.25, 0.125, 0.0625, 0.0625 (logits are their logs).
  const std::vector<float> logits = {std::log(0.125f), std::log(0.5f), std::log(0.0625f), std::log(0.25f),
                                     std::log(0.0625f)};
  const Sampler s({.temperature = 1.0f, .top_p = 0.7f});
  const std::vector<float> p = s.distribution(logits);
  // 0.5 < 0.7 <= 0.5 + 0.25: the two most likely remain, renormalized to 2/3 and 1/3.
  EXPECT_NEAR(p[1], 2.0f / 3.0f, 1e-6);
  EXPECT_NEAR(p[3], 1.0f / 3.0f, 1e-6);
  EXPECT_EQ(p[0] + p[2] + p[4], 0.0f);
  Sampler draw({.temperature = 1.0f, .top_p = 0.7f, .seed = 3});
  for (int i = 0; i < 100; ++i) {
    const uint32_t t = draw.sample(logits);
    EXPECT_TRUE(t == 1 || t == 3) << t;
  }
}

TEST(Sampler, DrawsFollowTheDistribution) {
  const std::vector<float> logits = {0.0f, 1.0f, 2.0f, -0.5f};
  Sampler s({.temperature = 1.0f, .seed = 11});
  const std::vector<float> p = s.distribution(logits);
  std::map<uint32_t, int> counts;
  const int n = 40000;
  for (int i = 0; i < n; ++i) ++counts[s.sample(logits)];
  // Binomial standard deviation sqrt(p(1-p)/n) <= 0.0025; allow 5 of them.
  for (uint32_t i = 0; i < p.size(); ++i) EXPECT_NEAR(double(counts[i]) / n, p[i], 0.0125) << i;
}

TEST(Sampler, RefusesBadOptions) {
  EXPECT_THROW(Sampler({.temperature = -1.0f}), Error);
  EXPECT_THROW(Sampler({.temperature = 1.0f, .top_p = 0.0f}), Error);
  EXPECT_THROW(Sampler({.temperature = 1.0f, .top_p = 1.5f}), Error);
}
