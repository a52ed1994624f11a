// Evaluation texts: Moby Dick chapters joined with a blank line between chapters (the protocol of
// docs/DESIGN.md section 7; out of the model's domain), and in-domain text sampled from a model
// with a fixed seed (for held-out perplexity of quantized versions of that model).
#pragma once

#include <cstdint>
#include <string>

#include "eval/perplexity.h"
#include "model/forward.h"
#include "model/tokenizer.h"

namespace bitlens::eval {

// dir/chapter_N.txt for N in [first, last], trailing newlines trimmed, joined by "\n\n".
// Throws FileError naming a missing chapter.
std::string moby_dick_text(const std::string& dir, uint32_t first = 1, uint32_t last = 20);

// Stories sampled from `forward` (each from BOS at temperature 1, until EOS/BOS or the context
// ends), joined by "\n\n", until at least min_tokens tokens were generated. Deterministic for a
// seed on a given backend. progress receives generated tokens out of min_tokens.
std::string sampled_text(model::Forward& forward, const model::Tokenizer& tokenizer, uint32_t min_tokens, uint64_t seed,
                         const Progress& progress = {});

}  // namespace bitlens::eval
