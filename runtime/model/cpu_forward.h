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
  // Benchmarks: go on as if positions [0, positions) were cached (their keys and values are
  // whatever the cache holds, zeros where no call wrote them); logits after it are for timing only.
  void assume_cached(uint32_t positions);

  const Model& model() const { return model_; }

  // Rounds keys and values to fp16 (to nearest even) as they enter the cache, as the Vulkan
  // forward pass stores them with an fp16 cache (VulkanForwardOptions::kv_cache).
  void set_kv_f16(bool on) { kv_f16_ = on; }

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
  // Grows the caches to hold at least `positions` positions (memory follows the positions used,
  // not the context length a file declares).
  void reserve_positions(uint32_t positions);

  Model model_;
  InputObserver observer_;
  bool kv_f16_ = false;
  uint32_t cached_ = 0;  // positions [0, cached_) hold valid keys and values

  // Scratch of one block of n positions, row-major per position.
  std::vector<float> x_;            // [n x dim] residual stream
  std::vector<float> xb_;           // [n x dim] normed input, then attention output
  std::vector<float> xb2_;          // [n x dim] output of wo and w2
  std::vector<float> q_;            // [n x dim] queries
  std::vector<float> hb_;           // [n x hidden] gate, then silu(gate) * up
  std::vector<float> hb2_;          // [n x hidden] up
  std::vector<float> att_;          // [n x capacity_] attention scores
  uint32_t capacity_ = 0;           // positions the caches hold (at most seq_len)
  std::vector<float> key_cache_;    // [layers x capacity_ x kv_dim]
  std::vector<float> value_cache_;  // [layers x capacity_ x kv_dim]
  std::vector<float> logits_;       // [positions asked for x vocab]
};

}  // namespace bitlens::model
