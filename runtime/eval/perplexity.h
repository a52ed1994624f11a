// Quality of a model on a text, against any Forward backend: perplexity over fixed windows of the
// tokenized text, and the agreement of a test backend with a reference one on the same windows
// (mean KL(p_ref || p_test) of the next-token distributions and top-1 agreement; docs/METHODS.md
// section 10).
// Windows follow llama.cpp's perplexity tool: consecutive slices of the token stream whose first
// token is replaced by BOS; its protocol scores only the second half of each window.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "model/forward.h"

namespace bitlens::eval {

struct WindowOptions {
  uint32_t window_len = 256;       // tokens per window, BOS first
  uint32_t stride = 0;             // tokens between window starts; 0: window_len (no overlap)
  uint32_t max_windows = 0;        // 0: every window that fits
  bool score_second_half = false;  // llama.cpp's protocol: score predictions from position len/2 on
};

using Window = std::vector<uint32_t>;

// Throws Error if the options are unusable or the text is shorter than one window.
std::vector<Window> make_windows(std::span<const uint32_t> tokens, uint32_t bos, const WindowOptions& options);

// Logits at position p predict token p + 1; positions [first_scored, len - 1) are scored.
uint32_t first_scored_position(const WindowOptions& options);

// log p(target) under softmax(logits), in double precision.
double log_prob(std::span<const float> logits, uint32_t target);
// KL(softmax(ref) || softmax(test)) in nats.
double kl_divergence(std::span<const float> ref_logits, std::span<const float> test_logits);

// Reports windows done out of the total after each window.
using Progress = std::function<void(uint32_t done, uint32_t total)>;

struct PerplexityResult {
  double nll_sum = 0.0;  // sum of -log p(next token) over scored tokens
  uint64_t tokens = 0;   // scored tokens
  uint32_t windows = 0;
  double seconds = 0.0;  // forward passes and scoring
  double mean_nll() const { return tokens ? nll_sum / double(tokens) : 0.0; }
  double perplexity() const;
};

PerplexityResult perplexity(model::Forward& forward, std::span<const Window> windows, const WindowOptions& options,
                            const Progress& progress = {});

struct CompareResult {
  PerplexityResult reference, test;
  double kl_sum = 0.0;
  double kl_max = 0.0;
  uint64_t top1_agree = 0;
  uint64_t tokens = 0;
  double mean_kl() const { return tokens ? kl_sum / double(tokens) : 0.0; }
  double top1_agreement() const { return tokens ? double(top1_agree) / double(tokens) : 0.0; }
};

// `reference` and `test` must be different objects (each keeps its own logits).
CompareResult compare(model::Forward& reference, model::Forward& test, std::span<const Window> windows,
                      const WindowOptions& options, const Progress& progress = {});

}  // namespace bitlens::eval
