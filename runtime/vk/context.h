// Vulkan instance, physical-device choice and logical device: the root object every GPU resource
// hangs off. Prefers a discrete GPU, then integrated, then virtual, then CPU (lavapipe); the
// BITLENS_DEVICE variable (or ContextOptions::device) picks one by index or by name substring.
// Every device-memory allocation goes through the Context, which enforces an optional budget
// (BITLENS_DEVICE_MEMORY_LIMIT) and can inject faults for tests (BITLENS_FAULT).
#pragma once

#include <vulkan/vulkan.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace bitlens::vk {

// A fault the Context reports as if the driver had, so that error paths can be tested on any
// device. BITLENS_FAULT=device_lost[:N]: every queue submission after the first N reports
// VK_ERROR_DEVICE_LOST; BITLENS_FAULT=out_of_device_memory[:N]: every memory allocation after the
// first N reports VK_ERROR_OUT_OF_DEVICE_MEMORY.
struct FaultInjection {
  enum class Kind { None, DeviceLost, OutOfDeviceMemory };
  Kind kind = Kind::None;
  uint64_t after = 0;  // calls that succeed before the fault

  static FaultInjection parse(const std::string& spec);  // throws Error on an unknown fault
  std::string describe() const;                          // "device_lost:3"
};

struct ContextOptions {
  std::string device;    // index ("1") or case-insensitive name substring; empty = best by type
  bool validation = false;  // enable VK_LAYER_KHRONOS_validation and collect its messages
  bool pipeline_cache = true;  // load/save compiled pipelines under $XDG_CACHE_HOME/bitlens
  uint64_t memory_limit = 0;   // bytes of device memory this context may hold at once; 0: no budget
  FaultInjection fault;        // none unless testing

  // For an app that also draws with the device (the inspector): extra instance and device
  // extensions (e.g. from glfwGetRequiredInstanceExtensions, VK_KHR_swapchain), and a test of
  // whether a queue family can present. When can_present is set, only devices with a queue family
  // that has compute, graphics and presentation are chosen, and queue() is from that family.
  std::vector<std::string> instance_extensions;
  std::vector<std::string> device_extensions;
  std::function<bool(VkInstance, VkPhysicalDevice, uint32_t family)> can_present;

  // Options from the environment: BITLENS_DEVICE, BITLENS_VALIDATION=1, BITLENS_PIPELINE_CACHE=0,
  // BITLENS_DEVICE_MEMORY_LIMIT (bytes, or with a unit: 512MiB, 2GiB), BITLENS_FAULT. Throws Error on
  // a malformed value.
  static ContextOptions from_env();
};

struct PhysicalDeviceSummary {
  uint32_t index;
  std::string name;
  std::string type;  // "discrete", "integrated", "virtual", "cpu", "other"
  std::string driver;
};

// What the chosen device can do, read once at creation.
struct DeviceCaps {
  uint32_t subgroup_size = 1;
  bool subgroup_arithmetic = false;
  bool subgroup_shuffle = false;
  bool float16 = false;
  bool int8 = false;
  bool storage16 = false;
  bool storage8 = false;
  bool timestamps = false;
  double timestamp_period_ns = 1.0;
  uint64_t max_storage_range = 0;
  uint64_t max_uniform_range = 0;
  uint64_t max_texel_elements = 0;
  uint64_t texel_offset_alignment = 16;
  uint64_t storage_offset_alignment = 16;
  uint64_t max_allocation = 0;
  uint32_t max_workgroup_count_x = 65535;
  uint32_t max_shared_memory = 16384;
  uint64_t device_local_bytes = 0;
  bool host_visible_device_memory = false;  // one memory type is device-local and host-visible
  bool unified_memory = false;              // every device-local type is also host-visible (CPU, iGPU)
};

// Lists the Vulkan devices present (for --list-devices); throws if no Vulkan driver is installed.
std::vector<PhysicalDeviceSummary> list_devices();

class Context {
 public:
  explicit Context(const ContextOptions& options = ContextOptions::from_env());
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  VkInstance instance() const { return instance_; }
  VkPhysicalDevice physical_device() const { return physical_; }
  VkDevice device() const { return device_; }
  VkQueue queue() const { return queue_; }
  // Held around every vkQueueSubmit / vkQueuePresentKHR on queue(): compute work may run on a
  // worker thread while another thread renders.
  std::mutex& queue_mutex() const { return queue_mu_; }
  uint32_t queue_family() const { return queue_family_; }
  VkCommandPool command_pool() const { return command_pool_; }
  VkPipelineCache pipeline_cache() const { return pipeline_cache_; }
  const DeviceCaps& caps() const { return caps_; }
  const PhysicalDeviceSummary& summary() const { return summary_; }
  std::string describe() const;  // "device 0: llvmpipe (...) [cpu], driver Mesa 22.3.6"

  // Index of a memory type with all `required` flags, preferring one that also has `preferred`.
  uint32_t memory_type(uint32_t type_bits, VkMemoryPropertyFlags required,
                       VkMemoryPropertyFlags preferred) const;
  VkMemoryPropertyFlags memory_flags(uint32_t type_index) const;

  // Messages the validation layer reported (warnings and errors); empty when validation is off.
  std::vector<std::string> validation_messages() const;
  void clear_validation_messages();
  bool validation_enabled() const { return messenger_ != VK_NULL_HANDLE; }

  // Saves the pipeline cache now (also done by the destructor).
  void save_pipeline_cache() const;

  void record_validation_message(std::string msg);

  // Allocates device memory for `what` ("a device buffer of 4.0 MiB" is how messages name it when
  // empty). Throws OutOfMemoryError with one clear message when the allocation would exceed the
  // budget (ContextOptions::memory_limit), the device's largest allocation, or the memory the
  // driver has. Release with free_memory.
  VkDeviceMemory allocate_memory(const VkMemoryAllocateInfo& info, const std::string& what);
  void free_memory(VkDeviceMemory memory, VkDeviceSize bytes);
  uint64_t memory_in_use() const { return memory_in_use_.load(); }
  uint64_t memory_limit() const { return memory_limit_; }

  // Called before every queue submission; throws DeviceLostError when an injected device loss is due.
  void count_submission();

 private:
  void create_instance(const ContextOptions& options);
  void pick_device(const ContextOptions& options);
  void create_device(const ContextOptions& options);
  void load_pipeline_cache(bool enabled);
  void release();  // destroys every handle; safe on a partly built context

  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t queue_family_ = 0;
  VkCommandPool command_pool_ = VK_NULL_HANDLE;
  VkPipelineCache pipeline_cache_ = VK_NULL_HANDLE;
  std::string pipeline_cache_path_;
  VkPhysicalDeviceMemoryProperties memory_{};
  DeviceCaps caps_;
  PhysicalDeviceSummary summary_;
  mutable std::mutex queue_mu_;
  mutable std::mutex messages_mu_;
  std::vector<std::string> messages_;
  uint64_t memory_limit_ = 0;
  FaultInjection fault_;
  std::atomic<uint64_t> memory_in_use_{0};
  std::atomic<uint64_t> allocations_{0};
  std::atomic<uint64_t> submissions_{0};
};

}  // namespace bitlens::vk
