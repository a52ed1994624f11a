// Instance, device choice, logical device, validation messages and the on-disk pipeline cache.
#include "vk/context.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "common/byte_size.h"
#include "common/file_io.h"
#include "vk/check.h"

namespace bitlens::vk {

namespace {

const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

std::string type_name(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
  }
}

int type_rank(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
    default: return 4;
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

VKAPI_ATTR VkBool32 VKAPI_CALL on_validation_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                     VkDebugUtilsMessageTypeFlagsEXT,
                                                     const VkDebugUtilsMessengerCallbackDataEXT* data,
                                                     void* user) {
  if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
    const char* text = data && data->pMessage ? data->pMessage : "(no message)";
    static_cast<Context*>(user)->record_validation_message(
        std::string(severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error: " : "warning: ") + text);
  }
  return VK_FALSE;
}

bool has_layer(const char* name) {
  uint32_t n = 0;
  vkEnumerateInstanceLayerProperties(&n, nullptr);
  std::vector<VkLayerProperties> layers(n);
  vkEnumerateInstanceLayerProperties(&n, layers.data());
  return std::any_of(layers.begin(), layers.end(), [&](auto& l) { return std::strcmp(l.layerName, name) == 0; });
}

// Names the variables that restrict the loader to some drivers, when set: a common cause of "no driver".
std::string driver_override() {
  std::string out;
  for (const char* name : {"VK_DRIVER_FILES", "VK_ICD_FILENAMES"})
    if (const char* v = std::getenv(name); v && *v) out += std::string(out.empty() ? "" : ", ") + name + "=" + v;
  return out.empty() ? "" : " (the loader was limited to " + out + ")";
}

VkInstance create_bare_instance(std::vector<const char*> layers, std::vector<const char*> extensions) {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "bitlens";
  app.apiVersion = VK_API_VERSION_1_2;
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pApplicationInfo = &app;
  ci.enabledLayerCount = uint32_t(layers.size());
  ci.ppEnabledLayerNames = layers.data();
  ci.enabledExtensionCount = uint32_t(extensions.size());
  ci.ppEnabledExtensionNames = extensions.data();
  VkInstance instance = VK_NULL_HANDLE;
  const VkResult r = vkCreateInstance(&ci, nullptr, &instance);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
    throw Error("no Vulkan driver found" + driver_override() +
                ": install a Vulkan driver (for the CPU, Debian's mesa-vulkan-drivers)");
  VK_CHECK(r);
  return instance;
}

void require_instance_extensions(const std::vector<std::string>& names) {
  uint32_t n = 0;
  vkEnumerateInstanceExtensionProperties(nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> have(n);
  vkEnumerateInstanceExtensionProperties(nullptr, &n, have.data());
  for (const auto& name : names)
    if (std::none_of(have.begin(), have.end(), [&](auto& e) { return name == e.extensionName; }))
      throw Error("the Vulkan instance extension " + name + " is not available on this machine");
}

// The first of `names` the device lacks, or empty.
std::string missing_device_extension(VkPhysicalDevice pd, const std::vector<std::string>& names) {
  uint32_t n = 0;
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> have(n);
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, have.data());
  for (const auto& name : names)
    if (std::none_of(have.begin(), have.end(), [&](auto& e) { return name == e.extensionName; })) return name;
  return {};
}

// The queue family the context uses: the first with compute, or, when the app presents, the first
// with compute, graphics and presentation. -1 if there is none.
int choose_queue_family(VkInstance instance, VkPhysicalDevice pd, const ContextOptions& o) {
  uint32_t nq = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> families(nq);
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, families.data());
  const VkQueueFlags need = o.can_present ? VK_QUEUE_COMPUTE_BIT | VK_QUEUE_GRAPHICS_BIT : VK_QUEUE_COMPUTE_BIT;
  for (uint32_t i = 0; i < nq; ++i)
    if ((families[i].queueFlags & need) == need && (!o.can_present || o.can_present(instance, pd, i))) return int(i);
  return -1;
}

// Why the device cannot serve these options, or empty if it can.
std::string unusable_reason(VkInstance instance, VkPhysicalDevice pd, const ContextOptions& o) {
  if (const std::string ext = missing_device_extension(pd, o.device_extensions); !ext.empty())
    return "it lacks the extension " + ext;
  if (choose_queue_family(instance, pd, o) < 0)
    return o.can_present ? "no queue family has compute, graphics and presentation" : "it has no compute queue";
  return {};
}

std::vector<VkPhysicalDevice> physical_devices(VkInstance instance) {
  uint32_t n = 0;
  VK_CHECK(vkEnumeratePhysicalDevices(instance, &n, nullptr));
  std::vector<VkPhysicalDevice> devices(n);
  VK_CHECK(vkEnumeratePhysicalDevices(instance, &n, devices.data()));
  if (devices.empty())
    throw Error("no Vulkan device found" + driver_override() +
                ": install a Vulkan driver (for the CPU, Debian's mesa-vulkan-drivers)");
  return devices;
}

PhysicalDeviceSummary summarize(VkPhysicalDevice pd, uint32_t index) {
  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &driver};
  vkGetPhysicalDeviceProperties2(pd, &props);
  return {index, props.properties.deviceName, type_name(props.properties.deviceType),
          std::string(driver.driverName) + " " + driver.driverInfo};
}

std::string cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/bitlens";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/bitlens";
  return {};
}

}  // namespace

FaultInjection FaultInjection::parse(const std::string& spec) {
  FaultInjection f;
  if (spec.empty()) return f;
  const size_t colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  if (kind == "device_lost")
    f.kind = Kind::DeviceLost;
  else if (kind == "out_of_device_memory")
    f.kind = Kind::OutOfDeviceMemory;
  else
    throw Error("BITLENS_FAULT=" + spec + ": unknown fault (device_lost[:N] or out_of_device_memory[:N])");
  if (colon != std::string::npos) {
    const std::string n = spec.substr(colon + 1);
    if (n.empty() || n.size() > 18 || !std::all_of(n.begin(), n.end(), ::isdigit))
      throw Error("BITLENS_FAULT=" + spec + ": the count after ':' must be a number");
    f.after = std::stoull(n);
  }
  return f;
}

std::string FaultInjection::describe() const {
  if (kind == Kind::None) return "none";
  return std::string(kind == Kind::DeviceLost ? "device_lost" : "out_of_device_memory") + ":" + std::to_string(after);
}

ContextOptions ContextOptions::from_env() {
  ContextOptions o;
  if (const char* d = std::getenv("BITLENS_DEVICE")) o.device = d;
  if (const char* v = std::getenv("BITLENS_VALIDATION")) o.validation = std::strcmp(v, "0") != 0 && *v;
  if (const char* c = std::getenv("BITLENS_PIPELINE_CACHE")) o.pipeline_cache = std::strcmp(c, "0") != 0;
  if (const char* m = std::getenv("BITLENS_DEVICE_MEMORY_LIMIT"); m && *m)
    o.memory_limit = parse_byte_size(m, "BITLENS_DEVICE_MEMORY_LIMIT");
  if (const char* f = std::getenv("BITLENS_FAULT")) o.fault = FaultInjection::parse(f);
  return o;
}

std::vector<PhysicalDeviceSummary> list_devices() {
  VkInstance instance = create_bare_instance({}, {});
  std::vector<PhysicalDeviceSummary> out;
  try {
    auto devices = physical_devices(instance);
    for (uint32_t i = 0; i < devices.size(); ++i) out.push_back(summarize(devices[i], i));
  } catch (...) {
    vkDestroyInstance(instance, nullptr);
    throw;
  }
  vkDestroyInstance(instance, nullptr);
  return out;
}

Context::Context(const ContextOptions& options) : memory_limit_(options.memory_limit), fault_(options.fault) {
  try {
    create_instance(options);
    pick_device(options);
    create_device(options);
    load_pipeline_cache(options.pipeline_cache);
  } catch (...) {
    release();
    throw;
  }
}

Context::~Context() { release(); }

void Context::release() {
  if (device_) {
    vkDeviceWaitIdle(device_);
    if (pipeline_cache_) {
      try {
        save_pipeline_cache();
      } catch (...) {
        // The cache is an optimisation; failing to save it must not fail the program.
      }
      vkDestroyPipelineCache(device_, pipeline_cache_, nullptr);
      pipeline_cache_ = VK_NULL_HANDLE;
    }
    if (command_pool_) vkDestroyCommandPool(device_, command_pool_, nullptr);
    command_pool_ = VK_NULL_HANDLE;
    vkDestroyDevice(device_, nullptr);
    device_ = VK_NULL_HANDLE;
  }
  if (messenger_) {
    auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance_, "vkDestroyDebugUtilsMessengerEXT"));
    if (destroy) destroy(instance_, messenger_, nullptr);
    messenger_ = VK_NULL_HANDLE;
  }
  if (instance_) vkDestroyInstance(instance_, nullptr);
  instance_ = VK_NULL_HANDLE;
}

void Context::create_instance(const ContextOptions& options) {
  std::vector<const char*> layers, extensions;
  if (options.validation) {
    if (!has_layer(kValidationLayer))
      throw Error("validation was requested (BITLENS_VALIDATION=1) but VK_LAYER_KHRONOS_validation is not "
                  "installed (Debian package vulkan-validationlayers)");
    layers.push_back(kValidationLayer);
    extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  }
  require_instance_extensions(options.instance_extensions);
  for (const auto& e : options.instance_extensions) extensions.push_back(e.c_str());
  instance_ = create_bare_instance(layers, extensions);
  if (options.validation) {
    VkDebugUtilsMessengerCreateInfoEXT ci{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    ci.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    ci.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    ci.pfnUserCallback = on_validation_message;
    ci.pUserData = this;
    auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
        vkGetInstanceProcAddr(instance_, "vkCreateDebugUtilsMessengerEXT"));
    if (!create) throw Error("VK_EXT_debug_utils is not available for the validation layer");
    VK_CHECK(create(instance_, &ci, nullptr, &messenger_));
  }
}

void Context::pick_device(const ContextOptions& options) {
  auto devices = physical_devices(instance_);
  std::vector<PhysicalDeviceSummary> summaries;
  for (uint32_t i = 0; i < devices.size(); ++i) summaries.push_back(summarize(devices[i], i));
  int chosen = -1;
  if (!options.device.empty()) {
    const bool numeric = std::all_of(options.device.begin(), options.device.end(), ::isdigit);
    if (numeric) {
      const unsigned long idx = std::stoul(options.device);
      if (idx < devices.size()) chosen = int(idx);
    } else {
      for (uint32_t i = 0; i < summaries.size() && chosen < 0; ++i)
        if (lower(summaries[i].name).find(lower(options.device)) != std::string::npos) chosen = int(i);
    }
    if (chosen < 0) {
      std::string list;
      for (auto& s : summaries) list += "\n  " + std::to_string(s.index) + ": " + s.name + " [" + s.type + "]";
      throw Error("no Vulkan device matches '" + options.device + "' (BITLENS_DEVICE or --device); devices:" + list);
    }
  } else {
    int best_rank = 1 << 30;
    for (uint32_t i = 0; i < devices.size(); ++i) {
      VkPhysicalDeviceProperties p;
      vkGetPhysicalDeviceProperties(devices[i], &p);
      if (p.apiVersion < VK_API_VERSION_1_2 || !unusable_reason(instance_, devices[i], options).empty()) continue;
      if (type_rank(p.deviceType) < best_rank) {
        best_rank = type_rank(p.deviceType);
        chosen = int(i);
      }
    }
    if (chosen < 0) {
      std::string why;
      for (uint32_t i = 0; i < devices.size(); ++i)
        if (const std::string r = unusable_reason(instance_, devices[i], options); !r.empty())
          why += "\n  " + summaries[i].name + ": " + r;
      throw Error("no usable Vulkan 1.2 device found" + why);
    }
  }
  physical_ = devices[size_t(chosen)];
  summary_ = summaries[size_t(chosen)];
  VkPhysicalDeviceProperties p;
  vkGetPhysicalDeviceProperties(physical_, &p);
  if (p.apiVersion < VK_API_VERSION_1_2)
    throw Error("Vulkan device '" + summary_.name + "' supports only Vulkan " + std::to_string(VK_VERSION_MAJOR(p.apiVersion)) +
                "." + std::to_string(VK_VERSION_MINOR(p.apiVersion)) + "; bitlens needs 1.2");
  if (const std::string r = unusable_reason(instance_, physical_, options); !r.empty())
    throw Error("Vulkan device '" + summary_.name + "' cannot be used: " + r);
}

void Context::create_device(const ContextOptions& options) {
  // Properties and limits.
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &subgroup};
  vkGetPhysicalDeviceProperties2(physical_, &props);
  const auto& lim = props.properties.limits;
  caps_.subgroup_size = subgroup.subgroupSize;
  caps_.subgroup_arithmetic = (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) &&
                              (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT);
  caps_.subgroup_shuffle = (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT) &&
                           (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT);
  caps_.timestamp_period_ns = lim.timestampPeriod;
  caps_.max_storage_range = lim.maxStorageBufferRange;
  caps_.max_uniform_range = lim.maxUniformBufferRange;
  caps_.max_texel_elements = lim.maxTexelBufferElements;
  caps_.texel_offset_alignment = lim.minTexelBufferOffsetAlignment;
  caps_.storage_offset_alignment = lim.minStorageBufferOffsetAlignment;
  caps_.max_workgroup_count_x = lim.maxComputeWorkGroupCount[0];
  caps_.max_shared_memory = lim.maxComputeSharedMemorySize;
  VkPhysicalDeviceMaintenance3Properties m3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceProperties2 props2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &m3};
  vkGetPhysicalDeviceProperties2(physical_, &props2);
  caps_.max_allocation = m3.maxMemoryAllocationSize;

  vkGetPhysicalDeviceMemoryProperties(physical_, &memory_);
  bool all_local_visible = true, any_local = false;
  for (uint32_t i = 0; i < memory_.memoryTypeCount; ++i) {
    const auto f = memory_.memoryTypes[i].propertyFlags;
    if (f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) {
      any_local = true;
      if (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) caps_.host_visible_device_memory = true;
      else all_local_visible = false;
    }
  }
  caps_.unified_memory = any_local && all_local_visible;
  for (uint32_t i = 0; i < memory_.memoryHeapCount; ++i)
    if (memory_.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      caps_.device_local_bytes = std::max<uint64_t>(caps_.device_local_bytes, memory_.memoryHeaps[i].size);

  // The queue family (pick_device made sure there is one).
  uint32_t nq = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(physical_, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> families(nq);
  vkGetPhysicalDeviceQueueFamilyProperties(physical_, &nq, families.data());
  queue_family_ = uint32_t(choose_queue_family(instance_, physical_, options));
  caps_.timestamps = families[queue_family_].timestampValidBits > 0 && lim.timestampComputeAndGraphics;

  // Features: enable what the kernels can use, when present.
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, &f12};
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &f11};
  vkGetPhysicalDeviceFeatures2(physical_, &features);
  VkPhysicalDeviceVulkan12Features e12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceVulkan11Features e11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, &e12};
  VkPhysicalDeviceFeatures2 enable{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &e11};
  e12.shaderFloat16 = f12.shaderFloat16;
  e12.shaderInt8 = f12.shaderInt8;
  e12.storageBuffer8BitAccess = f12.storageBuffer8BitAccess;
  e12.uniformAndStorageBuffer8BitAccess = f12.uniformAndStorageBuffer8BitAccess;
  e11.storageBuffer16BitAccess = f11.storageBuffer16BitAccess;
  e11.uniformAndStorageBuffer16BitAccess = f11.uniformAndStorageBuffer16BitAccess;
  enable.features.shaderInt16 = features.features.shaderInt16;
  enable.features.shaderInt64 = features.features.shaderInt64;
  caps_.float16 = f12.shaderFloat16;
  caps_.int8 = f12.shaderInt8;
  caps_.storage16 = f11.storageBuffer16BitAccess;
  caps_.storage8 = f12.storageBuffer8BitAccess;

  const float priority = 1.0f;
  VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = queue_family_;
  qci.queueCount = 1;
  qci.pQueuePriorities = &priority;
  VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, &enable};
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  std::vector<const char*> extensions;
  for (const auto& e : options.device_extensions) extensions.push_back(e.c_str());
  dci.enabledExtensionCount = uint32_t(extensions.size());
  dci.ppEnabledExtensionNames = extensions.data();
  VK_CHECK(vkCreateDevice(physical_, &dci, nullptr, &device_));
  vkGetDeviceQueue(device_, queue_family_, 0, &queue_);

  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pci.queueFamilyIndex = queue_family_;
  VK_CHECK(vkCreateCommandPool(device_, &pci, nullptr, &command_pool_));
}

void Context::load_pipeline_cache(bool enabled) {
  std::vector<uint8_t> initial;
  if (enabled) {
    const std::string dir = cache_dir();
    if (!dir.empty()) {
      VkPhysicalDeviceProperties p;
      vkGetPhysicalDeviceProperties(physical_, &p);
      std::string uuid;
      for (uint8_t b : p.pipelineCacheUUID) {
        static const char* hex = "0123456789abcdef";
        uuid += hex[b >> 4];
        uuid += hex[b & 15];
      }
      pipeline_cache_path_ = dir + "/pipelines-" + uuid + ".bin";
      if (file_exists(pipeline_cache_path_)) {
        try {
          initial = read_file(pipeline_cache_path_);
        } catch (const Error&) {
          initial.clear();
        }
      }
    }
  }
  VkPipelineCacheCreateInfo ci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  ci.initialDataSize = initial.size();
  ci.pInitialData = initial.empty() ? nullptr : initial.data();
  if (vkCreatePipelineCache(device_, &ci, nullptr, &pipeline_cache_) != VK_SUCCESS) {
    ci.initialDataSize = 0;  // a stale or corrupt cache file: start empty
    ci.pInitialData = nullptr;
    VK_CHECK(vkCreatePipelineCache(device_, &ci, nullptr, &pipeline_cache_));
  }
}

void Context::save_pipeline_cache() const {
  if (!pipeline_cache_ || pipeline_cache_path_.empty()) return;
  size_t size = 0;
  if (vkGetPipelineCacheData(device_, pipeline_cache_, &size, nullptr) != VK_SUCCESS || size == 0) return;
  std::vector<uint8_t> data(size);
  if (vkGetPipelineCacheData(device_, pipeline_cache_, &size, data.data()) != VK_SUCCESS) return;
  data.resize(size);
  write_file_atomic(pipeline_cache_path_, data);
}

std::string Context::describe() const {
  return "device " + std::to_string(summary_.index) + ": " + summary_.name + " [" + summary_.type + "], driver " +
         summary_.driver;
}

uint32_t Context::memory_type(uint32_t type_bits, VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred) const {
  int fallback = -1;
  for (uint32_t i = 0; i < memory_.memoryTypeCount; ++i) {
    if (!(type_bits & (1u << i))) continue;
    const auto f = memory_.memoryTypes[i].propertyFlags;
    if ((f & required) != required) continue;
    if ((f & preferred) == preferred) return i;
    if (fallback < 0) fallback = int(i);
  }
  if (fallback < 0) throw Error("Vulkan device '" + summary_.name + "' has no suitable memory type");
  return uint32_t(fallback);
}

VkMemoryPropertyFlags Context::memory_flags(uint32_t type_index) const {
  return memory_.memoryTypes[type_index].propertyFlags;
}

void Context::record_validation_message(std::string msg) {
  std::lock_guard lock(messages_mu_);
  if (messages_.size() < 100) messages_.push_back(std::move(msg));
}

std::vector<std::string> Context::validation_messages() const {
  std::lock_guard lock(messages_mu_);
  return messages_;
}

void Context::clear_validation_messages() {
  std::lock_guard lock(messages_mu_);
  messages_.clear();
}

VkDeviceMemory Context::allocate_memory(const VkMemoryAllocateInfo& info, const std::string& what) {
  const uint64_t bytes = info.allocationSize;
  const std::string subject = (what.empty() ? "a device buffer" : what) + " of " + format_bytes(bytes);
  const std::string held = format_bytes(memory_in_use_.load());
  if (caps_.max_allocation && bytes > caps_.max_allocation)
    throw OutOfMemoryError(VK_ERROR_OUT_OF_DEVICE_MEMORY,
                           "out of device memory: " + subject + " is larger than the largest single allocation " +
                               summary_.name + " allows (" + format_bytes(caps_.max_allocation) + ")");
  // Reserve the bytes against the budget first, so that concurrent allocations cannot overshoot it.
  uint64_t in_use = memory_in_use_.load();
  do {
    if (memory_limit_ && (bytes > memory_limit_ || in_use > memory_limit_ - bytes))
      throw OutOfMemoryError(VK_ERROR_OUT_OF_DEVICE_MEMORY,
                             "out of device memory: " + subject + " does not fit in the device-memory limit of " +
                                 format_bytes(memory_limit_) + " (BITLENS_DEVICE_MEMORY_LIMIT), of which " +
                                 format_bytes(in_use) + " is in use: the model or batch does not fit");
  } while (!memory_in_use_.compare_exchange_weak(in_use, in_use + bytes));
  const bool injected = fault_.kind == FaultInjection::Kind::OutOfDeviceMemory && allocations_++ >= fault_.after;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  const VkResult r = injected ? VK_ERROR_OUT_OF_DEVICE_MEMORY : vkAllocateMemory(device_, &info, nullptr, &memory);
  if (r == VK_SUCCESS) return memory;
  memory_in_use_ -= bytes;
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
    throw OutOfMemoryError(r, std::string(r == VK_ERROR_OUT_OF_HOST_MEMORY ? "out of host memory: " : "out of device memory: ") +
                                  summary_.name + " could not allocate " + subject + " (vkAllocateMemory returned " +
                                  result_name(r) + (injected ? ", injected by BITLENS_FAULT=" + fault_.describe() : "") +
                                  "; bitlens holds " + held + " of the device's " +
                                  format_bytes(caps_.device_local_bytes) + "): the model or batch does not fit");
  throw_vk_error(r, "vkAllocateMemory", __FILE__, __LINE__);
}

void Context::free_memory(VkDeviceMemory memory, VkDeviceSize bytes) {
  if (!memory) return;
  vkFreeMemory(device_, memory, nullptr);
  memory_in_use_ -= bytes;
}

void Context::count_submission() {
  if (fault_.kind != FaultInjection::Kind::DeviceLost || submissions_++ < fault_.after) return;
  throw DeviceLostError(VK_ERROR_DEVICE_LOST,
                        "the Vulkan device was lost (driver crash, GPU reset or a kernel that ran too long): "
                        "vkQueueSubmit failed with VK_ERROR_DEVICE_LOST (injected by BITLENS_FAULT=" +
                            fault_.describe() + "); GPU work cannot continue on this device without restarting");
}

}  // namespace bitlens::vk
