// Evaluation texts (see corpus.h).
#include "eval/corpus.h"

#include <algorithm>

#include "common/error.h"
#include "common/file_io.h"
#include "model/generate.h"

namespace bitlens::eval {

std::string moby_dick_text(const std::string& dir, uint32_t first, uint32_t last) {
  if (first == 0 || last < first) throw Error("moby_dick_text: bad chapter range");
  std::string text;
  for (uint32_t n = first; n <= last; ++n) {
    std::string chapter = read_text_file(dir + "/chapter_" + std::to_string(n) + ".txt");
    while (!chapter.empty() && (chapter.back() == '\n' || chapter.back() == '\r')) chapter.pop_back();
    if (n != first) text += "\n\n";
    text += chapter;
  }
  return text;
}

std::string sampled_text(model::Forward& forward, const model::Tokenizer& tokenizer, uint32_t min_tokens, uint64_t seed,
                         const Progress& progress) {
  model::Sampler sampler({.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .seed = seed});
  const model::GenerateOptions options{.max_new_tokens = forward.config().seq_len, .stop_at_eos = true};
  std::string text;
  uint32_t generated = 0, empty = 0;
  while (generated < min_tokens) {
    const model::GenerateResult story = model::generate(forward, tokenizer, sampler, "", options);
    if (story.tokens.empty()) {
      if (++empty > 100) throw Error("sampled_text: the model keeps ending its stories before the first token");
      continue;
    }
    if (!text.empty()) text += "\n\n";
    text += story.text;
    generated += uint32_t(story.tokens.size());
    if (progress) progress(std::min(generated, min_tokens), min_tokens);
  }
  return text;
}

}  // namespace bitlens::eval
