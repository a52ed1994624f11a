// Context options for apps that draw with the compute device: extra instance and device
// extensions, a presentation test that steers the queue choice, and clear errors when a device
// cannot serve them.
#include <gtest/gtest.h>

#include <string>

#include "common/error.h"
#include "gpu_test.h"
#include "vk/context.h"

using namespace bitlens;

namespace {

void expect_silent_validation(const vk::Context& c) {
  for (const auto& m : c.validation_messages()) ADD_FAILURE() << "validation layer: " << m;
}

std::string error_of(const vk::ContextOptions& o) {
  try {
    vk::Context c(o);
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST(VkContextOptions, SurfaceAndSwapchainExtensionsWithAPresentingQueue) {
  if (test::missing_device()) return;
  vk::ContextOptions o = vk::ContextOptions::from_env();
  o.instance_extensions = {VK_KHR_SURFACE_EXTENSION_NAME};
  o.device_extensions = {VK_KHR_SWAPCHAIN_EXTENSION_NAME};
  int asked = 0;
  o.can_present = [&](VkInstance instance, VkPhysicalDevice pd, uint32_t) {
    EXPECT_NE(instance, VK_NULL_HANDLE);
    EXPECT_NE(pd, VK_NULL_HANDLE);
    ++asked;
    return true;
  };
  vk::Context c(o);
  EXPECT_GT(asked, 0);
  uint32_t n = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(c.physical_device(), &n, nullptr);
  std::vector<VkQueueFamilyProperties> families(n);
  vkGetPhysicalDeviceQueueFamilyProperties(c.physical_device(), &n, families.data());
  ASSERT_LT(c.queue_family(), n);
  const VkQueueFlags flags = families[c.queue_family()].queueFlags;
  EXPECT_TRUE(flags & VK_QUEUE_COMPUTE_BIT);
  EXPECT_TRUE(flags & VK_QUEUE_GRAPHICS_BIT);
  // The swapchain extension is enabled: its entry point resolves on the device.
  EXPECT_NE(vkGetDeviceProcAddr(c.device(), "vkCreateSwapchainKHR"), nullptr);
  expect_silent_validation(c);
}

TEST(VkContextOptions, WithoutPresentationTheComputeQueueIsKept) {
  if (test::missing_device()) return;
  vk::ContextOptions o = vk::ContextOptions::from_env();
  vk::Context c(o);
  EXPECT_EQ(vkGetDeviceProcAddr(c.device(), "vkCreateSwapchainKHR"), nullptr);
  expect_silent_validation(c);
}

TEST(VkContextOptions, NoQueueThatCanPresentIsAClearError) {
  if (test::missing_device()) return;
  vk::ContextOptions o = vk::ContextOptions::from_env();
  o.can_present = [](VkInstance, VkPhysicalDevice, uint32_t) { return false; };
  const std::string e = error_of(o);
  EXPECT_NE(e.find("presentation"), std::string::npos) << e;
}

TEST(VkContextOptions, MissingExtensionsAreNamed) {
  if (test::missing_device()) return;
  vk::ContextOptions o = vk::ContextOptions::from_env();
  o.instance_extensions = {"VK_BITLENS_no_such_instance_extension"};
  std::string e = error_of(o);
  EXPECT_NE(e.find("VK_BITLENS_no_such_instance_extension"), std::string::npos) << e;

  o = vk::ContextOptions::from_env();
  o.device_extensions = {"VK_BITLENS_no_such_device_extension"};
  e = error_of(o);
  EXPECT_NE(e.find("VK_BITLENS_no_such_device_extension"), std::string::npos) << e;

  o.device = "0";  // a device chosen by index names the same problem
  e = error_of(o);
  EXPECT_NE(e.find("VK_BITLENS_no_such_device_extension"), std::string::npos) << e;
}
