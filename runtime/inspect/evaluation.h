// Live evaluation for the inspector: the quality of a quantized model against the fp32 one on a
// short window of tokens (mean KL(p_fp32 || p_quant) of the next-token distributions and top-1
// agreement, docs/METHODS.md section 10), with the fp32 logits computed once; and the same prompt
// generated greedily by both models, side by side, with the first token where they part.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/packed_model.h"
#include "model/tokenizer.h"
#include "model/weights.h"

namespace bitlens::inspect {

struct EvalResult {
  double kl = 0;    // mean over positions, nats
  double top1 = 0;  // fraction of positions whose argmax agrees
};

class Evaluator {
 public:
  // tokens: the window (BOS first), at least 2 and at most the model's context.
  Evaluator(std::shared_ptr<const model::Model> fp32, std::vector<uint32_t> tokens);
  EvalResult evaluate(const model::PackedModel& quantized) const;
  const std::vector<uint32_t>& tokens() const { return tokens_; }

 private:
  std::shared_ptr<const model::Model> fp32_;
  std::vector<uint32_t> tokens_;
  std::vector<float> reference_;  // [tokens x vocab] fp32 logits
};

struct GenerationComparison {
  std::string prompt;
  std::vector<std::string> reference;  // pieces of the fp32 model's greedy continuation
  std::vector<std::string> quantized;  // pieces of the quantized model's
  int first_divergence = -1;           // index of the first differing token; -1: none
  uint32_t step = 0;                   // the edit the quantized model was at
};

GenerationComparison compare_generation(const model::Model& fp32, const model::PackedModel& quantized,
                                        const model::Tokenizer& tokenizer, const std::string& prompt,
                                        uint32_t max_tokens);

}  // namespace bitlens::inspect
