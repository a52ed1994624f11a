// Windowed perplexity and reference comparison (see perplexity.h).
#include "eval/perplexity.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "common/error.h"
#include "common/parallel.h"
#include "model/sampler.h"

namespace bitlens::eval {

std::vector<Window> make_windows(std::span<const uint32_t> tokens, uint32_t bos, const WindowOptions& o) {
  if (o.window_len < 2) throw Error("the window length must be at least 2 tokens");
  const uint64_t stride = o.stride ? o.stride : o.window_len;
  if (tokens.size() < o.window_len)
    throw Error("the text has " + std::to_string(tokens.size()) + " tokens, fewer than one window of " +
                std::to_string(o.window_len));
  std::vector<Window> windows;
  for (uint64_t start = 0; start + o.window_len <= tokens.size(); start += stride) {
    if (o.max_windows && windows.size() == o.max_windows) break;
    Window& w = windows.emplace_back(tokens.begin() + start, tokens.begin() + start + o.window_len);
    w[0] = bos;
  }
  return windows;
}

uint32_t first_scored_position(const WindowOptions& o) { return o.score_second_half ? o.window_len / 2 : 0; }

double log_prob(std::span<const float> logits, uint32_t target) {
  const float mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float v : logits) sum += std::exp(double(v) - mx);
  return double(logits[target]) - mx - std::log(sum);
}

double kl_divergence(std::span<const float> ref, std::span<const float> test) {
  if (ref.size() != test.size() || ref.empty()) throw Error("kl_divergence: logit vectors differ in size");
  const double mr = *std::max_element(ref.begin(), ref.end()), mt = *std::max_element(test.begin(), test.end());
  double zr = 0.0, zt = 0.0;
  for (size_t i = 0; i < ref.size(); ++i) {
    zr += std::exp(ref[i] - mr);
    zt += std::exp(test[i] - mt);
  }
  const double lzr = std::log(zr), lzt = std::log(zt);
  double kl = 0.0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double lr = ref[i] - mr - lzr, lt = test[i] - mt - lzt;
    kl += std::exp(lr) * (lr - lt);
  }
  return std::max(0.0, kl);
}

double PerplexityResult::perplexity() const { return std::exp(mean_nll()); }

namespace {

struct Stopwatch {
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); }
};

// out[i] = fn(first + i) for every scored position, computed in parallel; summing `out` in order
// afterwards keeps results independent of the thread count.
template <typename Fn>
void for_scored(uint32_t first, uint32_t len, std::vector<double>& out, Fn fn) {
  out.assign(len - 1 - first, 0.0);
  parallel_for(out.size(), [&](size_t a, size_t b) {
    for (size_t i = a; i < b; ++i) out[i] = fn(first + uint32_t(i));
  });
}

}  // namespace

PerplexityResult perplexity(model::Forward& forward, std::span<const Window> windows, const WindowOptions& o,
                            const Progress& progress) {
  const Stopwatch clock;
  const uint32_t vocab = forward.config().vocab_size, first = first_scored_position(o);
  PerplexityResult r;
  std::vector<double> nll;
  for (const Window& w : windows) {
    forward.reset();
    const std::span<const float> logits = forward.prefill(w, 0, true);
    for_scored(first, uint32_t(w.size()), nll,
               [&](uint32_t p) { return -log_prob(logits.subspan(size_t(p) * vocab, vocab), w[p + 1]); });
    for (double v : nll) r.nll_sum += v;
    r.tokens += nll.size();
    ++r.windows;
    if (progress) progress(r.windows, uint32_t(windows.size()));
  }
  r.seconds = clock.seconds();
  return r;
}

CompareResult compare(model::Forward& reference, model::Forward& test, std::span<const Window> windows,
                      const WindowOptions& o, const Progress& progress) {
  if (&reference == &test) throw Error("compare: the reference and the test backend must be different objects");
  if (reference.config().vocab_size != test.config().vocab_size)
    throw Error("compare: the reference and the test model have different vocabularies");
  const Stopwatch clock;
  const uint32_t vocab = test.config().vocab_size, first = first_scored_position(o);
  CompareResult r;
  std::vector<double> ref_nll, test_nll, kl, agree;
  double ref_seconds = 0.0;
  for (const Window& w : windows) {
    const Stopwatch ref_clock;
    reference.reset();
    const std::span<const float> ref_logits = reference.prefill(w, 0, true);
    ref_seconds += ref_clock.seconds();
    test.reset();
    const std::span<const float> test_logits = test.prefill(w, 0, true);
    const uint32_t len = uint32_t(w.size());
    auto ref_at = [&](uint32_t p) { return ref_logits.subspan(size_t(p) * vocab, vocab); };
    auto test_at = [&](uint32_t p) { return test_logits.subspan(size_t(p) * vocab, vocab); };
    for_scored(first, len, ref_nll, [&](uint32_t p) { return -log_prob(ref_at(p), w[p + 1]); });
    for_scored(first, len, test_nll, [&](uint32_t p) { return -log_prob(test_at(p), w[p + 1]); });
    for_scored(first, len, kl, [&](uint32_t p) { return kl_divergence(ref_at(p), test_at(p)); });
    for_scored(first, len, agree,
               [&](uint32_t p) { return model::argmax(ref_at(p)) == model::argmax(test_at(p)) ? 1.0 : 0.0; });
    for (size_t i = 0; i < kl.size(); ++i) {
      r.reference.nll_sum += ref_nll[i];
      r.test.nll_sum += test_nll[i];
      r.kl_sum += kl[i];
      r.kl_max = std::max(r.kl_max, kl[i]);
      r.top1_agree += agree[i] != 0.0;
    }
    r.tokens += kl.size();
    ++r.reference.windows;
    if (progress) progress(r.reference.windows, uint32_t(windows.size()));
  }
  r.reference.tokens = r.test.tokens = r.tokens;
  r.test.windows = r.reference.windows;
  r.reference.seconds = ref_seconds;
  r.test.seconds = clock.seconds() - ref_seconds;
  return r;
}

}  // namespace bitlens::eval
