// The generation loop (see generate.h).
#include "model/generate.h"

#include <chrono>

#include "common/error.h"

namespace bitlens::model {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

GenerateResult generate(Forward& forward, const Tokenizer& tokenizer, Sampler& sampler, std::string_view prompt,
                        const GenerateOptions& options, const std::function<void(const std::string&)>& on_text) {
  const uint32_t context = forward.config().seq_len;
  GenerateResult r;
  r.prompt_tokens = tokenizer.encode(prompt, true, false);
  if (r.prompt_tokens.size() > context)
    throw Error("the prompt has " + std::to_string(r.prompt_tokens.size()) + " tokens; the model's context is " +
                std::to_string(context));

  forward.reset();
  auto t0 = std::chrono::steady_clock::now();
  std::span<const float> logits = forward.prefill(r.prompt_tokens, 0, false);
  r.prefill_seconds = seconds_since(t0);

  uint32_t pos = uint32_t(r.prompt_tokens.size()), prev = r.prompt_tokens.back();
  while (r.tokens.size() < options.max_new_tokens) {
    const uint32_t next = sampler.sample(logits);
    if (options.stop_at_eos && (next == tokenizer.eos() || next == tokenizer.bos())) break;
    r.tokens.push_back(next);
    const std::string piece = tokenizer.decode(prev, next);
    r.text += piece;
    if (on_text) on_text(piece);
    prev = next;
    if (r.tokens.size() == options.max_new_tokens) break;
    if (pos == context) {
      r.reached_context = true;
      break;
    }
    t0 = std::chrono::steady_clock::now();
    logits = forward.forward(next, pos++);
    r.decode_seconds += seconds_since(t0);
    ++r.decode_steps;
  }
  return r;
}

}  // namespace bitlens::model
