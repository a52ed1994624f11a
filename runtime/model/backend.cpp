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

namespace {

std::unique_ptr<Forward> make_cpu(Model model, bool kv_f16) {
  auto f = std::make_unique<CpuForward>(std::move(model));
  f->set_kv_f16(kv_f16);
  return f;
}

VulkanForwardOptions vulkan_options(bool kv_f16) {
  VulkanForwardOptions o;
  o.kv_cache = kv_f16 ? kernels::KvPrecision::F16 : kernels::KvPrecision::F32;
  return o;
}

}  // namespace

std::unique_ptr<Forward> make_forward(Backend backend, const Model& model, bool kv_f16) {
  if (backend == Backend::Cpu) return make_cpu(model, kv_f16);
  return VulkanForward::create(pack_model(model, {}), vulkan_options(kv_f16));
}

std::unique_ptr<Forward> make_forward(Backend backend, const PackedModel& model, bool kv_f16) {
  if (backend == Backend::Cpu) return make_cpu(to_float_model(model), kv_f16);
  return VulkanForward::create(model, vulkan_options(kv_f16));
}

}  // namespace bitlens::model
