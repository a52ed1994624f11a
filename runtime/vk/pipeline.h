// Compute kernels (pipeline + layouts, built from embedded SPIR-V) and the descriptor sets that
// bind buffers to them.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace bitlens::vk {

class Context;
class Buffer;
class BufferView;

struct KernelSpec {
  std::string name;                        // for error messages and the kernel cache key
  std::span<const uint32_t> spirv;
  std::vector<VkDescriptorType> bindings;  // binding i has type bindings[i], one descriptor each
  uint32_t push_constant_bytes = 0;
  std::vector<uint32_t> specialization;    // constant_id i = specialization[i]
};

class Kernel {
 public:
  Kernel(Context& ctx, const KernelSpec& spec);
  ~Kernel();
  Kernel(Kernel&& o) noexcept;
  Kernel& operator=(Kernel&&) = delete;
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  const std::string& name() const { return name_; }
  VkPipeline pipeline() const { return pipeline_; }
  VkPipelineLayout layout() const { return layout_; }
  VkDescriptorSetLayout set_layout() const { return set_layout_; }
  const std::vector<VkDescriptorType>& bindings() const { return bindings_; }
  uint32_t push_constant_bytes() const { return push_bytes_; }

 private:
  void release();
  VkDevice device_ = VK_NULL_HANDLE;
  std::string name_;
  std::vector<VkDescriptorType> bindings_;
  uint32_t push_bytes_ = 0;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkPipeline pipeline_ = VK_NULL_HANDLE;
};

// One resource bound to one binding slot.
struct Binding {
  VkDescriptorType type;
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;
  VkDeviceSize range = VK_WHOLE_SIZE;
  VkBufferView view = VK_NULL_HANDLE;

  static Binding storage(const Buffer& b, VkDeviceSize offset = 0, VkDeviceSize range = VK_WHOLE_SIZE);
  static Binding uniform(const Buffer& b, VkDeviceSize offset = 0, VkDeviceSize range = VK_WHOLE_SIZE);
  static Binding texel(const BufferView& v);          // uniform texel buffer (read-only, fast)
  static Binding storage_texel(const BufferView& v);  // storage texel buffer
};

// A descriptor set for one kernel, with its own small pool; bindings must match the kernel's.
class DescriptorSet {
 public:
  DescriptorSet() = default;
  DescriptorSet(Context& ctx, const Kernel& kernel, std::span<const Binding> bindings);
  DescriptorSet(Context& ctx, const Kernel& kernel, std::initializer_list<Binding> bindings)
      : DescriptorSet(ctx, kernel, std::span<const Binding>(bindings.begin(), bindings.size())) {}
  ~DescriptorSet();
  DescriptorSet(DescriptorSet&& o) noexcept;
  DescriptorSet& operator=(DescriptorSet&& o) noexcept;
  DescriptorSet(const DescriptorSet&) = delete;
  DescriptorSet& operator=(const DescriptorSet&) = delete;

  VkDescriptorSet handle() const { return set_; }

 private:
  VkDevice device_ = VK_NULL_HANDLE;
  VkDescriptorPool pool_ = VK_NULL_HANDLE;
  VkDescriptorSet set_ = VK_NULL_HANDLE;
};

}  // namespace bitlens::vk
