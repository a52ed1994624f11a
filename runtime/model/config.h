// Hyper-parameters of a LLaMA-family model (the llama2.c Config, plus what GGUF files carry).
#pragma once

#include <cstdint>
#include <string>

namespace bitlens::model {

struct ModelConfig {
  uint32_t dim = 0;          // transformer width d_model (stories15M: 288)
  uint32_t hidden_dim = 0;   // SwiGLU hidden width (768)
  uint32_t n_layers = 0;     // transformer blocks (6)
  uint32_t n_heads = 0;      // query heads (6)
  uint32_t n_kv_heads = 0;   // key/value heads (6; fewer means grouped-query attention)
  uint32_t vocab_size = 0;   // tokens (32000)
  uint32_t seq_len = 0;      // maximum context (256)
  float rope_theta = 10000.0f;
  float norm_eps = 1e-5f;
  bool shared_classifier = true;  // the output classifier is the token embedding

  uint32_t head_dim() const { return dim / n_heads; }
  uint32_t kv_dim() const { return head_dim() * n_kv_heads; }
  std::string describe() const;  // "dim 288, hidden 768, 6 layers, 6 heads (6 kv), vocab 32000, context 256"
};

// Throws bitlens::Error naming `what` (usually the file) if the configuration is unusable.
void validate(const ModelConfig& c, const std::string& what);

}  // namespace bitlens::model
