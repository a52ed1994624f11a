// VK_CHECK: turn a failing Vulkan call into a bitlens::VkError naming the call, result and location.
#pragma once

#include <vulkan/vulkan.h>

#include <string>

#include "common/error.h"

namespace bitlens::vk {

const char* result_name(VkResult r);

struct VkError : Error {
  VkError(VkResult r, const char* expr, const char* file, int line);
  VkError(VkResult r, const std::string& message);  // a message that already says what failed and why
  VkResult result;
};

// Out of host or device memory (from the driver, or over ContextOptions::memory_limit): a distinct
// type so callers can report it as such.
struct OutOfMemoryError : VkError {
  using VkError::VkError;
};

// The device was lost (driver crash, GPU reset, a kernel that ran too long): nothing more can run on
// its Context; work can go on only on a new one.
struct DeviceLostError : VkError {
  using VkError::VkError;
};

[[noreturn]] void throw_vk_error(VkResult r, const char* expr, const char* file, int line);

}  // namespace bitlens::vk

#define VK_CHECK(expr)                                                          \
  do {                                                                          \
    const VkResult vk_check_result_ = (expr);                                   \
    if (vk_check_result_ < 0)                                                   \
      ::bitlens::vk::throw_vk_error(vk_check_result_, #expr, __FILE__, __LINE__); \
  } while (0)
