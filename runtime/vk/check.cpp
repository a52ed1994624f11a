// Names of VkResult codes and the error thrown by VK_CHECK.
#include "vk/check.h"

namespace bitlens::vk {

const char* result_name(VkResult r) {
  switch (r) {
#define BITLENS_CASE(x) \
  case x:               \
    return #x;
    BITLENS_CASE(VK_SUCCESS)
    BITLENS_CASE(VK_NOT_READY)
    BITLENS_CASE(VK_TIMEOUT)
    BITLENS_CASE(VK_INCOMPLETE)
    BITLENS_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
    BITLENS_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    BITLENS_CASE(VK_ERROR_INITIALIZATION_FAILED)
    BITLENS_CASE(VK_ERROR_DEVICE_LOST)
    BITLENS_CASE(VK_ERROR_MEMORY_MAP_FAILED)
    BITLENS_CASE(VK_ERROR_LAYER_NOT_PRESENT)
    BITLENS_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
    BITLENS_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    BITLENS_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
    BITLENS_CASE(VK_ERROR_TOO_MANY_OBJECTS)
    BITLENS_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
    BITLENS_CASE(VK_ERROR_FRAGMENTED_POOL)
    BITLENS_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
    BITLENS_CASE(VK_ERROR_INVALID_EXTERNAL_HANDLE)
    BITLENS_CASE(VK_ERROR_FRAGMENTATION)
    BITLENS_CASE(VK_ERROR_SURFACE_LOST_KHR)
    BITLENS_CASE(VK_ERROR_OUT_OF_DATE_KHR)
    BITLENS_CASE(VK_SUBOPTIMAL_KHR)
#undef BITLENS_CASE
    default:
      return "VK_ERROR_UNKNOWN";
  }
}

static std::string describe(VkResult r, const char* expr, const char* file, int line) {
  const std::string call = std::string(expr) + " failed with " + result_name(r) + " at " + file + ":" +
                           std::to_string(line);
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY)
    return "out of device memory: " + call + " (the model or batch does not fit in this device's memory)";
  if (r == VK_ERROR_OUT_OF_HOST_MEMORY) return "out of host memory: " + call;
  if (r == VK_ERROR_DEVICE_LOST)
    return "the Vulkan device was lost (driver crash, GPU reset or a kernel that ran too long): " + call +
           "; GPU work cannot continue on this device without restarting";
  return call;
}

VkError::VkError(VkResult r, const char* expr, const char* file, int line)
    : Error(describe(r, expr, file, line)), result(r) {}

VkError::VkError(VkResult r, const std::string& message) : Error(message), result(r) {}

void throw_vk_error(VkResult r, const char* expr, const char* file, int line) {
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
    throw OutOfMemoryError(r, expr, file, line);
  if (r == VK_ERROR_DEVICE_LOST) throw DeviceLostError(r, expr, file, line);
  throw VkError(r, expr, file, line);
}

}  // namespace bitlens::vk
