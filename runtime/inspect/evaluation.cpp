// KL divergence and top-1 agreement against cached fp32 logits; side-by-side greedy generation.
#include "inspect/evaluation.h"

#include <algorithm>

#include "common/error.h"
#include "eval/perplexity.h"
#include "model/cpu_forward.h"
#include "model/float_model.h"
#include "model/generate.h"
#include "model/sampler.h"

namespace bitlens::inspect {

Evaluator::Evaluator(std::shared_ptr<const model::Model> fp32, std::vector<uint32_t> tokens)
    : fp32_(std::move(fp32)), tokens_(std::move(tokens)) {
  if (tokens_.size() < 2 || tokens_.size() > fp32_->config.seq_len)
    throw Error("evaluation window of " + std::to_string(tokens_.size()) + " tokens; it needs 2 to " +
                std::to_string(fp32_->config.seq_len));
  model::CpuForward f(*fp32_);
  const auto logits = f.prefill(tokens_, 0, true);
  reference_.assign(logits.begin(), logits.end());
}

EvalResult Evaluator::evaluate(const model::PackedModel& quantized) const {
  model::CpuForward f(model::to_float_model(quantized));
  const auto logits = f.prefill(tokens_, 0, true);
  const size_t vocab = fp32_->config.vocab_size, n = tokens_.size() - 1;  // the last logits predict nothing here
  EvalResult r;
  for (size_t p = 0; p < n; ++p) {
    const std::span<const float> ref(&reference_[p * vocab], vocab), test(&logits[p * vocab], vocab);
    r.kl += eval::kl_divergence(ref, test);
    r.top1 += model::argmax(ref) == model::argmax(test);
  }
  r.kl /= double(n);
  r.top1 /= double(n);
  return r;
}

namespace {

// Greedy continuation of the prompt: its tokens, and each token's text.
std::vector<uint32_t> greedy(model::Forward& forward, const model::Tokenizer& tokenizer, const std::string& prompt,
                             uint32_t max_tokens, std::vector<std::string>& pieces) {
  model::Sampler argmax_sampler({});
  const model::GenerateOptions options{.max_new_tokens = max_tokens, .stop_at_eos = true};
  const model::GenerateResult g = model::generate(forward, tokenizer, argmax_sampler, prompt, options);
  uint32_t prev = g.prompt_tokens.empty() ? tokenizer.bos() : g.prompt_tokens.back();
  for (uint32_t t : g.tokens) {
    pieces.push_back(tokenizer.decode(prev, t));
    prev = t;
  }
  return g.tokens;
}

}  // namespace

GenerationComparison compare_generation(const model::Model& fp32, const model::PackedModel& quantized,
                                        const model::Tokenizer& tokenizer, const std::string& prompt,
                                        uint32_t max_tokens) {
  GenerationComparison c;
  c.prompt = prompt;
  model::CpuForward reference(fp32);
  const auto a = greedy(reference, tokenizer, prompt, max_tokens, c.reference);
  model::CpuForward test(model::to_float_model(quantized));
  const auto b = greedy(test, tokenizer, prompt, max_tokens, c.quantized);
  for (size_t i = 0; i < std::max(a.size(), b.size()) && c.first_divergence < 0; ++i)
    if (i >= a.size() || i >= b.size() || a[i] != b[i]) c.first_divergence = int(i);
  return c;
}

}  // namespace bitlens::inspect
