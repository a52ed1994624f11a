// A small random LLaMA-shaped model built in memory, for tests and for running the inspector
// without a model file. Weights are Gaussian with standard deviation 1/sqrt(in) and a few large
// outliers, norms are 1.
#pragma once

#include <cstdint>

#include "model/weights.h"

namespace bitlens::inspect {

model::ModelConfig small_config();  // dim 64, hidden 192, 2 blocks, 4 heads, vocab 96, context 64
model::Model synthetic_model(const model::ModelConfig& config, uint64_t seed);

}  // namespace bitlens::inspect
