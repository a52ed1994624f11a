// Text generation against any Forward backend: encode the prompt (with BOS), prefill it in one
// batch, then sample and feed one token at a time, streaming each piece of text as it is decoded,
// and time the two phases separately.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "model/forward.h"
#include "model/sampler.h"
#include "model/tokenizer.h"

namespace bitlens::model {

struct GenerateOptions {
  uint32_t max_new_tokens = 256;
  bool stop_at_eos = true;  // stop at EOS, or at BOS (llama2.c models start each story with BOS)
};

struct GenerateResult {
  std::vector<uint32_t> prompt_tokens;  // BOS + encoded prompt
  std::vector<uint32_t> tokens;         // generated tokens
  std::string text;                     // their decoded text
  double prefill_seconds = 0.0;         // the prompt's forward pass
  double decode_seconds = 0.0;          // the one-token forward passes
  uint32_t decode_steps = 0;            // number of one-token forward passes
  bool reached_context = false;         // stopped at the model's context length

  double prefill_tokens_per_second() const { return prefill_seconds > 0 ? prompt_tokens.size() / prefill_seconds : 0; }
  double decode_tokens_per_second() const { return decode_seconds > 0 ? decode_steps / decode_seconds : 0; }
};

// Throws Error if the prompt does not fit the context. on_text receives each decoded piece.
GenerateResult generate(Forward& forward, const Tokenizer& tokenizer, Sampler& sampler, std::string_view prompt,
                        const GenerateOptions& options, const std::function<void(const std::string&)>& on_text = {});

}  // namespace bitlens::model
