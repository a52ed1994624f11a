// CpuForward: the fp32 reference forward pass of a LLaMA model on the CPU, built from cpu_ops (the
// arithmetic of llama2.c's run.c), batched over positions so that a prompt or an evaluation window
// reads each weight once per block of positions. It is the oracle every other backend is checked
// against; a PackedModel runs here through to_float_model().
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "model/forward.h"
#include "model/weights.h"

namespace bitlens::model {

class CpuForward final : public Forward {
 public:
  explicit CpuForward(Model model);

  const ModelConfig& config() const override { return model_.config; }
  std::string name() const override { return "cpu"; }
  std::span<const float> prefill(std::span<const uint32_t> tokens, uint32_t start_pos, bool all_logits) override;
  void reset() override { cached_ = 0; }

  const Model& model() const { return model_; }

  // Called with the input rows of the block linears as the pass computes them (calibration
  // capture): x is [n x in] for n positions. wq, wk and wv share one input and one call (with
  // Linear::Wq), as do w1 and w3 (with Linear::W1).
  using InputObserver = std::function<void(uint32_t layer, Linear linear, std::span<const float> x, uint32_t n)>;
  void set_input_observer(InputObserver observer) { observer_ = std::move(observer); }

  // Positions processed together (bounds the scratch memory).
  static constexpr uint32_t kMaxBatch = 32;

 private:
  // Runs one block of at most kMaxBatch positions; writes logits of positions [logits_from, n)
  // to `logits` ([n - logits_from x vocab]).
  void run_block(std::span<const uint32_t> tokens, uint32_t start_pos, uint32_t logits_from, float* logits);
  void attention_block(uint32_t n, uint32_t start_pos, const float* key_cache, const float* value_cache);

  Model model_;
  InputObserver observer_;
  uint32_t cached_ = 0;  // positions [0, cached_) hold valid keys and values

  // Scratch of one block of n positions, row-major per position.
  std::vector<float> x_;    // [n x dim] residual stream
  std::vector<float> xb_;   // [n x dim] normed input, then attention output
  std::vector<float> xb2_;  // [n x dim] output of wo and w2
  std::vector<float> q_;    // [n x dim] queries
  std::vector<float> hb_;   // [n x hidden] gate, then silu(gate) * up
  std::vector<float> hb2_;  // [n x hidden] up
  std::vector<float> att_;  // [n x seq_len] attention scores
  std::vector<float> key_cache_;    // [layers x seq_len x kv_dim]
  std::vector<float> value_cache_;  // [layers x seq_len x kv_dim]
  std::vector<float> logits_;       // [positions asked for x vocab]
};

}  // namespace bitlens::model
