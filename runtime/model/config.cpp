// ModelConfig description and validation.
#include "model/config.h"

#include "common/error.h"

namespace bitlens::model {

std::string ModelConfig::describe() const {
  return "dim " + std::to_string(dim) + ", hidden " + std::to_string(hidden_dim) + ", " + std::to_string(n_layers) +
         " layers, " + std::to_string(n_heads) + " heads (" + std::to_string(n_kv_heads) + " kv), vocab " +
         std::to_string(vocab_size) + ", context " + std::to_string(seq_len);
}

void validate(const ModelConfig& c, const std::string& what) {
  auto bad = [&](const std::string& problem) { throw FileError(what, "invalid model configuration: " + problem); };
  if (c.dim == 0 || c.dim > 65536) bad("dim " + std::to_string(c.dim));
  if (c.hidden_dim == 0 || c.hidden_dim > 262144) bad("hidden_dim " + std::to_string(c.hidden_dim));
  if (c.n_layers == 0 || c.n_layers > 1024) bad("n_layers " + std::to_string(c.n_layers));
  if (c.n_heads == 0 || c.dim % c.n_heads != 0) bad("n_heads " + std::to_string(c.n_heads) + " does not divide dim");
  if (c.head_dim() % 2 != 0) bad("head dimension " + std::to_string(c.head_dim()) + " is odd");
  if (c.n_kv_heads == 0 || c.n_kv_heads > c.n_heads || c.n_heads % c.n_kv_heads != 0)
    bad("n_kv_heads " + std::to_string(c.n_kv_heads) + " must divide n_heads " + std::to_string(c.n_heads));
  if (c.vocab_size == 0 || c.vocab_size > (1u << 24)) bad("vocab_size " + std::to_string(c.vocab_size));
  if (c.seq_len == 0 || c.seq_len > (1u << 20)) bad("seq_len " + std::to_string(c.seq_len));
  if (!(c.rope_theta > 0.0f)) bad("rope theta");
  if (!(c.norm_eps > 0.0f)) bad("norm epsilon");
}

}  // namespace bitlens::model
