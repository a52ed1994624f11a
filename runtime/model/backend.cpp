// Backend selection (see backend.h).
#include "model/backend.h"

#include "common/error.h"
#include "model/cpu_forward.h"
#include "model/float_model.h"
#include "model/vulkan_forward.h"

namespace bitlens::model {

Backend parse_backend(const std::string& name) {
  if (name == "cpu") return Backend::Cpu;
  if (name == "vulkan") return Backend::Vulkan;
  throw Error("unknown backend \"" + name + "\" (choose cpu or vulkan)");
}

std::unique_ptr<Forward> make_forward(Backend backend, const Model& model) {
  if (backend == Backend::Cpu) return std::make_unique<CpuForward>(model);
  return VulkanForward::create(pack_model(model, {}));
}

std::unique_ptr<Forward> make_forward(Backend backend, const PackedModel& model) {
  if (backend == Backend::Cpu) return std::make_unique<CpuForward>(to_float_model(model));
  return VulkanForward::create(model);
}

}  // namespace bitlens::model
