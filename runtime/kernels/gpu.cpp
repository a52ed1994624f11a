// Kernel cache and strategy choice.
#include "kernels/gpu.h"

#include <cstdlib>

#include "kernels/shader_registry.h"

namespace bitlens::kernels {

Gpu::Gpu(const vk::ContextOptions& options) : ctx_(options) {
  strategy_ = is_cpu() ? Strategy::TilePerInvocation : Strategy::TilePerSubgroup;
  if (const char* s = std::getenv("BITLENS_KERNEL_STRATEGY"); s && (*s == '0' || *s == '1'))
    strategy_ = *s == '0' ? Strategy::TilePerInvocation : Strategy::TilePerSubgroup;
  if (!caps().subgroup_arithmetic) strategy_ = Strategy::TilePerInvocation;
}

const vk::Kernel& Gpu::kernel(const std::string& shader, const std::vector<VkDescriptorType>& bindings,
                              uint32_t push_bytes, const std::vector<uint32_t>& specialization) {
  std::string key = shader;
  for (uint32_t v : specialization) key += ":" + std::to_string(v);
  std::lock_guard lock(mu_);
  auto it = kernels_.find(key);
  if (it != kernels_.end()) return *it->second;
  vk::KernelSpec spec{key, embedded_spirv(shader), bindings, push_bytes, specialization};
  auto k = std::make_unique<vk::Kernel>(ctx_, spec);
  return *kernels_.emplace(key, std::move(k)).first->second;
}

}  // namespace bitlens::kernels
