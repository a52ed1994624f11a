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

  // Sees the inputs of the block linears as they are computed (calibration capture): layer, site
  // (0: attention input of wq/wk/wv, 1: attention output into wo, 2: FFN input of w1/w3, 3: SwiGLU
  // hidden state into w2; calib::InputSite uses the same numbers) and n rows of the site's width.
  using InputObserver = std::function<void(uint32_t layer, uint32_t site, std::span<const float> rows, uint32_t n)>;
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
  std::vector<float> x_;            // [n x dim] residual stream
  std::vector<float> xb_;           // [n x dim] normed input, then attention output
  std::vector<float> xb2_;          // [n x dim] output of wo and w2
  std::vector<float> q_;            // [n x dim] queries
  std::vector<float> hb_;           // [n x hidden] gate, then silu(gate) * up
  std::vector<float> hb2_;          // [n x hidden] up
  std::vector<float> att_;          // [n x seq_len] attention scores
  std::vector<float> key_cache_;    // [layers x seq_len x kv_dim]
  std::vector<float> value_cache_;  // [layers x seq_len x kv_dim]
  std::vector<float> logits_;       // [positions asked for x vocab]
};

}  // namespace bitlens::model
