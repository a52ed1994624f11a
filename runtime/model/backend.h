// Choosing an inference backend by name: the one place the CLI and the inspector create a Forward.
#pragma once

#include <memory>
#include <string>

#include "model/forward.h"
#include "model/packed_model.h"
#include "model/weights.h"

namespace bitlens::model {

enum class Backend { Cpu, Vulkan };

Backend parse_backend(const std::string& name);  // "cpu" or "vulkan"; throws Error otherwise
// A float model runs in fp32 on either backend (the Vulkan one uploads fp32 weights). kv_f16:
// keys and values stored in fp16 (the Vulkan cache's precision; the CPU rounds them alike).
std::unique_ptr<Forward> make_forward(Backend backend, const Model& model, bool kv_f16 = false);
// A packed model: the Vulkan backend runs its packed formats; the CPU runs the float model it
// stands for (to_float_model).
std::unique_ptr<Forward> make_forward(Backend backend, const PackedModel& model, bool kv_f16 = false);

}  // namespace bitlens::model
