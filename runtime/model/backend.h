// Choosing an inference backend by name: the one place the CLI and the inspector create a Forward.
#pragma once

#include <memory>
#include <string>

#include "model/forward.h"
#include "model/weights.h"

namespace bitlens::model {

enum class Backend { Cpu, Vulkan };

Backend parse_backend(const std::string& name);  // "cpu" or "vulkan"; throws Error otherwise
std::unique_ptr<Forward> make_forward(Backend backend, const Model& model);

}  // namespace bitlens::model
