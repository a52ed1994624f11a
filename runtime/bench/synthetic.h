// Models with LLaMA shapes and generated random weights for speed measurements: the packed words
// are drawn directly (random codes, one fixed scale and offset per group; random floats for the
// float formats), so that a 32-block 7B-shaped stack is made in seconds. Never for accuracy.
#pragma once

#include <cstdint>
#include <string>

#include "model/packed_model.h"
#include "quant/format.h"

namespace bitlens::bench {

struct SyntheticSpec {
  std::string shape = "llama7b";  // see synthetic_config
  uint32_t blocks = 0;            // transformer blocks; 0: the shape's own count
  quant::Format format = quant::Format::Q4;  // every block linear and the embedding/classifier
  uint32_t group_size = 64;
};

// The configuration of a named shape: "llama7b" (dim 4096, hidden 11008, 32 blocks, 32 heads,
// vocab 32000, context 2048, separate classifier) or "stories15m" (the bundled model's shape).
// Throws Error for an unknown name.
model::ModelConfig synthetic_config(const std::string& shape);

// A packed model of spec.shape with spec.blocks blocks, every matrix in spec.format (float or
// uniform group formats only; others throw UnsupportedError), norm weights 1.
model::PackedModel synthetic_model(const SyntheticSpec& spec, uint64_t seed = 1);

// Bytes synthetic_model(spec) stores (PackedModel::stored_bytes), computed without making it.
uint64_t synthetic_model_bytes(const SyntheticSpec& spec);

}  // namespace bitlens::bench
