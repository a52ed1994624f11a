// Gpu: a Vulkan context plus the cache of compute kernels built on it. Every op and the forward
// pass take a Gpu&. Kernels are built on first use (slow on lavapipe) and kept for the Gpu's life.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vk/context.h"
#include "vk/pipeline.h"

namespace bitlens::kernels {

// How mat-vec and mat-mul kernels spread work: one invocation per row tile (CPU devices), or one
// subgroup per row tile (GPUs). BITLENS_KERNEL_STRATEGY=0/1 overrides the choice by device type.
enum class Strategy : uint32_t { TilePerInvocation = 0, TilePerSubgroup = 1 };

class Gpu {
 public:
  explicit Gpu(const vk::ContextOptions& options = vk::ContextOptions::from_env());

  vk::Context& ctx() { return ctx_; }
  const vk::DeviceCaps& caps() const { return ctx_.caps(); }
  Strategy strategy() const { return strategy_; }
  void set_strategy(Strategy s) { strategy_ = s; }
  bool is_cpu() const { return ctx_.summary().type == "cpu"; }

  // The kernel built from embedded shader `shader` with these bindings, push-constant size and
  // specialization constants; built once and cached.
  const vk::Kernel& kernel(const std::string& shader, const std::vector<VkDescriptorType>& bindings,
                           uint32_t push_bytes, const std::vector<uint32_t>& specialization = {});

 private:
  vk::Context ctx_;
  Strategy strategy_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<vk::Kernel>> kernels_;
};

}  // namespace bitlens::kernels
