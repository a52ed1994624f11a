// Kernel (compute pipeline) creation and descriptor-set writes.
#include "vk/pipeline.h"

#include <map>
#include <utility>

#include "vk/buffer.h"
#include "vk/check.h"
#include "vk/context.h"

namespace bitlens::vk {

Kernel::Kernel(Context& ctx, const KernelSpec& spec)
    : device_(ctx.device()), name_(spec.name), bindings_(spec.bindings), push_bytes_(spec.push_constant_bytes) {
  if (spec.spirv.empty()) throw Error("kernel '" + spec.name + "' has no SPIR-V");
  try {
    std::vector<VkDescriptorSetLayoutBinding> lb;
    for (uint32_t i = 0; i < spec.bindings.size(); ++i)
      lb.push_back({i, spec.bindings[i], 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr});
    VkDescriptorSetLayoutCreateInfo dci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
    dci.bindingCount = uint32_t(lb.size());
    dci.pBindings = lb.data();
    VK_CHECK(vkCreateDescriptorSetLayout(device_, &dci, nullptr, &set_layout_));

    VkPushConstantRange pcr{VK_SHADER_STAGE_COMPUTE_BIT, 0, spec.push_constant_bytes};
    VkPipelineLayoutCreateInfo pci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    pci.setLayoutCount = 1;
    pci.pSetLayouts = &set_layout_;
    pci.pushConstantRangeCount = spec.push_constant_bytes ? 1 : 0;
    pci.pPushConstantRanges = &pcr;
    VK_CHECK(vkCreatePipelineLayout(device_, &pci, nullptr, &layout_));

    VkShaderModuleCreateInfo sci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    sci.codeSize = spec.spirv.size_bytes();
    sci.pCode = spec.spirv.data();
    VkShaderModule module = VK_NULL_HANDLE;
    VK_CHECK(vkCreateShaderModule(device_, &sci, nullptr, &module));

    std::vector<VkSpecializationMapEntry> entries;
    for (uint32_t i = 0; i < spec.specialization.size(); ++i)
      entries.push_back({i, uint32_t(i * sizeof(uint32_t)), sizeof(uint32_t)});
    VkSpecializationInfo si{uint32_t(entries.size()), entries.data(), spec.specialization.size() * sizeof(uint32_t),
                            spec.specialization.data()};
    VkComputePipelineCreateInfo cpi{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
    cpi.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
    cpi.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    cpi.stage.module = module;
    cpi.stage.pName = "main";
    cpi.stage.pSpecializationInfo = entries.empty() ? nullptr : &si;
    cpi.layout = layout_;
    const VkResult r = vkCreateComputePipelines(device_, ctx.pipeline_cache(), 1, &cpi, nullptr, &pipeline_);
    vkDestroyShaderModule(device_, module, nullptr);
    VK_CHECK(r);
  } catch (const Error& e) {
    release();
    throw Error("creating kernel '" + spec.name + "': " + e.what());
  }
}

void Kernel::release() {
  if (pipeline_) vkDestroyPipeline(device_, pipeline_, nullptr);
  if (layout_) vkDestroyPipelineLayout(device_, layout_, nullptr);
  if (set_layout_) vkDestroyDescriptorSetLayout(device_, set_layout_, nullptr);
  pipeline_ = VK_NULL_HANDLE;
  layout_ = VK_NULL_HANDLE;
  set_layout_ = VK_NULL_HANDLE;
}

Kernel::~Kernel() { release(); }

Kernel::Kernel(Kernel&& o) noexcept
    : device_(o.device_),
      name_(std::move(o.name_)),
      bindings_(std::move(o.bindings_)),
      push_bytes_(o.push_bytes_),
      set_layout_(std::exchange(o.set_layout_, VK_NULL_HANDLE)),
      layout_(std::exchange(o.layout_, VK_NULL_HANDLE)),
      pipeline_(std::exchange(o.pipeline_, VK_NULL_HANDLE)) {}

Binding Binding::storage(const Buffer& b, VkDeviceSize offset, VkDeviceSize range) {
  return {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, b.handle(), offset, range};
}
Binding Binding::uniform(const Buffer& b, VkDeviceSize offset, VkDeviceSize range) {
  return {VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, b.handle(), offset, range};
}
Binding Binding::texel(const BufferView& v) {
  return {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, VK_NULL_HANDLE, 0, 0, v.handle()};
}
Binding Binding::storage_texel(const BufferView& v) {
  return {VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER, VK_NULL_HANDLE, 0, 0, v.handle()};
}

DescriptorSet::DescriptorSet(Context& ctx, const Kernel& kernel, std::span<const Binding> bindings)
    : device_(ctx.device()) {
  const auto& want = kernel.bindings();
  if (bindings.size() != want.size())
    throw Error("kernel '" + kernel.name() + "' takes " + std::to_string(want.size()) + " bindings, got " +
                std::to_string(bindings.size()));
  std::map<VkDescriptorType, uint32_t> counts;
  for (uint32_t i = 0; i < want.size(); ++i) {
    if (bindings[i].type != want[i])
      throw Error("kernel '" + kernel.name() + "': binding " + std::to_string(i) + " has the wrong descriptor type");
    counts[want[i]]++;
  }
  std::vector<VkDescriptorPoolSize> sizes;
  for (auto [type, n] : counts) sizes.push_back({type, n});
  VkDescriptorPoolCreateInfo pci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  pci.maxSets = 1;
  pci.poolSizeCount = uint32_t(sizes.size());
  pci.pPoolSizes = sizes.data();
  VK_CHECK(vkCreateDescriptorPool(device_, &pci, nullptr, &pool_));
  VkDescriptorSetLayout layout = kernel.set_layout();
  VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  ai.descriptorPool = pool_;
  ai.descriptorSetCount = 1;
  ai.pSetLayouts = &layout;
  const VkResult r = vkAllocateDescriptorSets(device_, &ai, &set_);
  if (r != VK_SUCCESS) {
    vkDestroyDescriptorPool(device_, pool_, nullptr);
    pool_ = VK_NULL_HANDLE;
    VK_CHECK(r);
  }
  std::vector<VkDescriptorBufferInfo> infos(bindings.size());
  std::vector<VkWriteDescriptorSet> writes;
  for (uint32_t i = 0; i < bindings.size(); ++i) {
    VkWriteDescriptorSet w{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    w.dstSet = set_;
    w.dstBinding = i;
    w.descriptorCount = 1;
    w.descriptorType = bindings[i].type;
    if (bindings[i].view) {
      w.pTexelBufferView = &bindings[i].view;
    } else {
      infos[i] = {bindings[i].buffer, bindings[i].offset, bindings[i].range};
      w.pBufferInfo = &infos[i];
    }
    writes.push_back(w);
  }
  vkUpdateDescriptorSets(device_, uint32_t(writes.size()), writes.data(), 0, nullptr);
}

DescriptorSet::~DescriptorSet() {
  if (pool_) vkDestroyDescriptorPool(device_, pool_, nullptr);
}

DescriptorSet::DescriptorSet(DescriptorSet&& o) noexcept
    : device_(o.device_), pool_(std::exchange(o.pool_, VK_NULL_HANDLE)), set_(std::exchange(o.set_, VK_NULL_HANDLE)) {}

DescriptorSet& DescriptorSet::operator=(DescriptorSet&& o) noexcept {
  if (this != &o) {
    if (pool_) vkDestroyDescriptorPool(device_, pool_, nullptr);
    device_ = o.device_;
    pool_ = std::exchange(o.pool_, VK_NULL_HANDLE);
    set_ = std::exchange(o.set_, VK_NULL_HANDLE);
  }
  return *this;
}

}  // namespace bitlens::vk
