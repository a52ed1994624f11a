// The dense fp32 model a PackedModel stands for, so that the CPU reference forward pass runs a
// quantized model exactly as the runtime computes it. Each linear's effective weight folds the
// packed weight, its LoRA factors and its rotations (quant::effective_weight); the embedding and classifier are dequantized.
#pragma once

#include <vector>

#include "model/packed_model.h"
#include "model/weights.h"

namespace bitlens::model {

// Throws Error if a packed matrix does not have the shape the config implies.
Model to_float_model(const PackedModel& packed);

}  // namespace bitlens::model
