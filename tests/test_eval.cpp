// Evaluation math on tiny hand-made distributions: log-probabilities, KL divergence, window
// cutting, perplexity and reference comparison through a Forward whose logits are known.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "common/error.h"
#include "eval/perplexity.h"
#include "model/forward.h"

using namespace bitlens;

namespace {

// A backend whose logits at each position come from a function of (token, position).
class FakeForward final : public model::Forward {
 public:
  using Fn = std::function<std::vector<float>(uint32_t token, uint32_t pos)>;
  FakeForward(uint32_t vocab, Fn fn) : fn_(std::move(fn)) {
    config_.vocab_size = vocab;
    config_.seq_len = 1024;
  }
  const model::ModelConfig& config() const override { return config_; }
  std::string name() const override { return "fake"; }
  void reset() override {}
  std::span<const float> prefill(std::span<const uint32_t> tokens, uint32_t start, bool all) override {
    logits_.clear();
    for (uint32_t i = 0; i < tokens.size(); ++i) {
      if (!all && i + 1 < tokens.size()) continue;
      const std::vector<float> l = fn_(tokens[i], start + i);
      logits_.insert(logits_.end(), l.begin(), l.end());
    }
    return logits_;
  }

 private:
  model::ModelConfig config_;
  Fn fn_;
  std::vector<float> logits_;
};

std::vector<float> logs(std::initializer_list<double> p) {
  std::vector<float> out;
  for (double v : p) out.push_back(float(std::log(v)));
  return out;
}

}  // namespace

TEST(Eval, LogProbOfKnownDistribution) {
  const std::vector<float> l = logs({0.5, 0.25, 0.125, 0.125});
  EXPECT_NEAR(eval::log_prob(l, 0), std::log(0.5), 1e-7);
  EXPECT_NEAR(eval::log_prob(l, 3), std::log(0.125), 1e-7);
  std::vector<float> shifted = l;
  for (float& v : shifted) v += 100.0f;  // softmax ignores a common shift
  EXPECT_NEAR(eval::log_prob(shifted, 1), std::log(0.25), 1e-5);
}

TEST(Eval, KlDivergenceOfKnownDistributions) {
  // KL((0.5, 0.5) || (0.9, 0.1)) = 0.5 ln(0.5 / 0.9) + 0.5 ln(0.5 / 0.1)
  const double expected = 0.5 * std::log(0.5 / 0.9) + 0.5 * std::log(0.5 / 0.1);
  EXPECT_NEAR(eval::kl_divergence(logs({0.5, 0.5}), logs({0.9, 0.1})), expected, 1e-6);
  // Not symmetric: KL((0.9, 0.1) || (0.5, 0.5)).
  EXPECT_NEAR(eval::kl_divergence(logs({0.9, 0.1}), logs({0.5, 0.5})), 0.9 * std::log(1.8) + 0.1 * std::log(0.2), 1e-6);
  EXPECT_NEAR(eval::kl_divergence(logs({0.2, 0.3, 0.5}), logs({0.2, 0.3, 0.5})), 0.0, 1e-9);
  EXPECT_THROW(eval::kl_divergence(logs({0.5, 0.5}), logs({1.0})), Error);
}

TEST(Eval, WindowsStartWithBos) {
  std::vector<uint32_t> tokens(1000);
  for (uint32_t i = 0; i < 1000; ++i) tokens[i] = i + 10;
  const auto w = eval::make_windows(tokens, 1, {.window_len = 100});
  ASSERT_EQ(w.size(), 10u);
  EXPECT_EQ(w[3][0], 1u);
  EXPECT_EQ(w[3][1], 311u);
  EXPECT_EQ(w[9][99], 1009u);
  EXPECT_EQ(eval::make_windows(tokens, 1, {.window_len = 100, .stride = 50}).size(), 19u);
  EXPECT_EQ(eval::make_windows(tokens, 1, {.window_len = 100, .max_windows = 4}).size(), 4u);
  EXPECT_THROW(eval::make_windows(std::span(tokens).first(50), 1, {.window_len = 100}), Error);
  EXPECT_EQ(eval::first_scored_position({.window_len = 256, .score_second_half = true}), 128u);
}

TEST(Eval, PerplexityOfUniformPredictionsIsTheVocabularySize) {
  FakeForward uniform(5, [](uint32_t, uint32_t) { return std::vector<float>(5, 0.3f); });
  std::vector<uint32_t> tokens(64);
  for (uint32_t i = 0; i < 64; ++i) tokens[i] = i % 5;
  const eval::WindowOptions all{.window_len = 16};
  const auto windows = eval::make_windows(tokens, 1, all);
  int calls = 0;
  const eval::PerplexityResult r = eval::perplexity(uniform, windows, all, [&](uint32_t done, uint32_t total) {
    ++calls;
    EXPECT_EQ(total, 4u);
    EXPECT_EQ(done, uint32_t(calls));
  });
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(r.tokens, 4u * 15);
  EXPECT_NEAR(r.perplexity(), 5.0, 1e-9);
  const eval::WindowOptions half{.window_len = 16, .score_second_half = true};
  EXPECT_EQ(eval::perplexity(uniform, windows, half).tokens, 4u * 7);
}

TEST(Eval, PerplexityScoresTheNextToken) {
  // The model gives token (t + 1) % 4 probability 1/2 after token t and 1/6 to each other token;
  // in the text, token t is followed by (t + 1) % 4.
  FakeForward f(4, [](uint32_t token, uint32_t) {
    std::vector<double> p(4, 1.0 / 6);
    p[(token + 1) % 4] = 0.5;
    return logs({p[0], p[1], p[2], p[3]});
  });
  std::vector<uint32_t> tokens(40);
  for (uint32_t i = 0; i < 40; ++i) tokens[i] = i % 4;
  const eval::WindowOptions o{.window_len = 8};
  // BOS (token 1) replaces each window's first token, so the first prediction of a window may miss:
  // the expected sum is taken over the windows as cut.
  const auto windows = eval::make_windows(tokens, 1, o);
  double expected_nll = 0.0;
  for (const auto& w : windows)
    for (size_t p = 0; p + 1 < w.size(); ++p) expected_nll -= std::log(w[p + 1] == (w[p] + 1) % 4 ? 0.5 : 1.0 / 6);
  const eval::PerplexityResult r = eval::perplexity(f, windows, o);
  EXPECT_NEAR(r.nll_sum, expected_nll, 1e-5);
  EXPECT_NEAR(r.mean_nll(), expected_nll / double(r.tokens), 1e-7);
}

TEST(Eval, CompareMeasuresKlAndTopOneAgreement) {
  // Reference: (0.7, 0.1, 0.1, 0.1). Test: the same at even positions, (0.1, 0.1, 0.7, 0.1) at odd.
  FakeForward ref(4, [](uint32_t, uint32_t) { return logs({0.7, 0.1, 0.1, 0.1}); });
  FakeForward test(4, [](uint32_t, uint32_t pos) {
    return pos % 2 ? logs({0.1, 0.1, 0.7, 0.1}) : logs({0.7, 0.1, 0.1, 0.1});
  });
  std::vector<uint32_t> tokens(32, 0);
  const eval::WindowOptions o{.window_len = 8};
  const auto windows = eval::make_windows(tokens, 1, o);
  const eval::CompareResult r = eval::compare(ref, test, windows, o);
  ASSERT_EQ(r.tokens, 4u * 7);
  const double kl_odd = 0.7 * std::log(0.7 / 0.1) + 0.1 * std::log(0.1 / 0.7);
  // Positions 0..6 of each window: odd ones are 1, 3, 5.
  EXPECT_NEAR(r.mean_kl(), kl_odd * 3.0 / 7.0, 1e-6);
  EXPECT_NEAR(r.kl_max, kl_odd, 1e-6);
  EXPECT_NEAR(r.top1_agreement(), 4.0 / 7.0, 1e-12);
  // Tokens are 0 (and BOS = 1 first, never predicted): ref p(0) = 0.7 everywhere.
  EXPECT_NEAR(r.reference.perplexity(), 1.0 / 0.7, 1e-6);
  EXPECT_THROW(eval::compare(ref, ref, windows, o), Error);
}
