// Forward: the interface every inference backend implements (the CPU reference, the Vulkan
// forward pass). Generation, sampling and evaluation are written against it only, so a backend
// plugs in without changing them.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "model/config.h"

namespace bitlens::model {

class Forward {
 public:
  virtual ~Forward() = default;

  virtual const ModelConfig& config() const = 0;
  virtual std::string name() const = 0;  // "cpu", "vulkan", ...

  // Runs `tokens` at positions [start_pos, start_pos + tokens.size()), appending their keys and
  // values to the cache (positions below start_pos must already be there). Returns the logits of
  // every position, [tokens.size() x vocab] row-major, when all_logits is set, otherwise only those
  // of the last position [vocab]. The span stays valid until the next call. Throws Error when the
  // positions run past config().seq_len or a token is outside the vocabulary.
  virtual std::span<const float> prefill(std::span<const uint32_t> tokens, uint32_t start_pos, bool all_logits) = 0;

  // One decoding step: the logits [vocab] of `token` at position `pos`.
  std::span<const float> forward(uint32_t token, uint32_t pos) { return prefill({&token, 1}, pos, false); }

  // Forgets the cached keys and values (a new sequence starts at position 0).
  virtual void reset() = 0;
};

}  // namespace bitlens::model
