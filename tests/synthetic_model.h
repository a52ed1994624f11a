// A small random LLaMA-shaped Model for tests that need a model but not the real one's weights.
#pragma once

#include <cstdint>

#include "model/weights.h"

namespace bitlens::test {

model::ModelConfig small_config();  // dim 64, hidden 160, 2 layers, 4 heads (2 kv), vocab 96, context 32
model::Model synthetic_model(const model::ModelConfig& config, uint64_t seed);

}  // namespace bitlens::test
