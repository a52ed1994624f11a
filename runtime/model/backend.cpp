// Backend selection (see backend.h).
#include "model/backend.h"

#include "common/error.h"
#include "model/cpu_forward.h"

namespace bitlens::model {

Backend parse_backend(const std::string& name) {
  if (name == "cpu") return Backend::Cpu;
  if (name == "vulkan") return Backend::Vulkan;
  throw Error("unknown backend \"" + name + "\" (choose cpu or vulkan)");
}

std::unique_ptr<Forward> make_forward(Backend backend, const Model& model) {
  switch (backend) {
    case Backend::Cpu: return std::make_unique<CpuForward>(model);
    case Backend::Vulkan: break;
  }
  throw Error("the vulkan backend is not available yet (use --backend cpu)");
}

}  // namespace bitlens::model
