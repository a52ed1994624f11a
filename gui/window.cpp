// Swapchain, render pass and frame loop of the inspector window, and screenshot read-back.
#include "window.h"

#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_vulkan.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "common/error.h"
#include "vk/check.h"

namespace bitlens::gui {

namespace {

void check_imgui_vk(VkResult r) {
  if (r < 0) throw Error("Dear ImGui's Vulkan backend failed: VkResult " + std::to_string(int(r)));
}

VkSurfaceFormatKHR choose_surface_format(VkPhysicalDevice pd, VkSurfaceKHR surface) {
  uint32_t n = 0;
  VK_CHECK(vkGetPhysicalDeviceSurfaceFormatsKHR(pd, surface, &n, nullptr));
  std::vector<VkSurfaceFormatKHR> formats(n);
  VK_CHECK(vkGetPhysicalDeviceSurfaceFormatsKHR(pd, surface, &n, formats.data()));
  if (formats.empty()) throw Error("the window surface offers no pixel format");
  // ImGui's colours are meant for a UNORM target (blending in display space).
  for (VkFormat want : {VK_FORMAT_B8G8R8A8_UNORM, VK_FORMAT_R8G8B8A8_UNORM})
    for (const auto& f : formats)
      if (f.format == want) return f;
  return formats[0];
}

}  // namespace

vk::ContextOptions presenting_context_options(vk::ContextOptions base) {
  uint32_t n = 0;
  const char** names = glfwGetRequiredInstanceExtensions(&n);
  if (!names) throw Error("GLFW found no Vulkan window-system support (is a display available?)");
  for (uint32_t i = 0; i < n; ++i) base.instance_extensions.emplace_back(names[i]);
  base.device_extensions.emplace_back(VK_KHR_SWAPCHAIN_EXTENSION_NAME);
  base.can_present = [](VkInstance instance, VkPhysicalDevice pd, uint32_t family) {
    return glfwGetPhysicalDevicePresentationSupport(instance, pd, family) == GLFW_TRUE;
  };
  return base;
}

Window::Window(vk::Context& ctx, GLFWwindow* window) : ctx_(ctx), window_(window) {
  VK_CHECK(glfwCreateWindowSurface(ctx_.instance(), window_, nullptr, &surface_));
  VkBool32 supported = VK_FALSE;
  VK_CHECK(vkGetPhysicalDeviceSurfaceSupportKHR(ctx_.physical_device(), ctx_.queue_family(), surface_, &supported));
  if (!supported) throw Error("the Vulkan device's queue cannot present to this window");
  surface_format_ = choose_surface_format(ctx_.physical_device(), surface_);

  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pci.queueFamilyIndex = ctx_.queue_family();
  VK_CHECK(vkCreateCommandPool(ctx_.device(), &pci, nullptr, &command_pool_));
  for (Frame& f : frames_) {
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = command_pool_;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    VK_CHECK(vkAllocateCommandBuffers(ctx_.device(), &ai, &f.cmd));
    VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    fci.flags = VK_FENCE_CREATE_SIGNALED_BIT;
    VK_CHECK(vkCreateFence(ctx_.device(), &fci, nullptr, &f.fence));
    VkSemaphoreCreateInfo sci{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    VK_CHECK(vkCreateSemaphore(ctx_.device(), &sci, nullptr, &f.image_acquired));
  }

  VkAttachmentDescription color{};
  color.format = surface_format_.format;
  color.samples = VK_SAMPLE_COUNT_1_BIT;
  color.loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR;
  color.storeOp = VK_ATTACHMENT_STORE_OP_STORE;
  color.stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE;
  color.stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
  color.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
  color.finalLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
  VkAttachmentReference ref{0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
  VkSubpassDescription sub{};
  sub.pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS;
  sub.colorAttachmentCount = 1;
  sub.pColorAttachments = &ref;
  VkSubpassDependency dep{};
  dep.srcSubpass = VK_SUBPASS_EXTERNAL;
  dep.dstSubpass = 0;
  dep.srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
  dep.dstStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
  dep.dstAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
  VkRenderPassCreateInfo rci{VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO};
  rci.attachmentCount = 1;
  rci.pAttachments = &color;
  rci.subpassCount = 1;
  rci.pSubpasses = &sub;
  rci.dependencyCount = 1;
  rci.pDependencies = &dep;
  VK_CHECK(vkCreateRenderPass(ctx_.device(), &rci, nullptr, &render_pass_));

  create_swapchain();
  init_imgui();
}

Window::~Window() {
  wait_frames();
  if (imgui_ready_) ImGui_ImplVulkan_Shutdown();
  destroy_swapchain();
  readback_ = vk::Buffer();
  VkDevice d = ctx_.device();
  if (descriptor_pool_) vkDestroyDescriptorPool(d, descriptor_pool_, nullptr);
  if (render_pass_) vkDestroyRenderPass(d, render_pass_, nullptr);
  for (Frame& f : frames_) {
    if (f.fence) vkDestroyFence(d, f.fence, nullptr);
    if (f.image_acquired) vkDestroySemaphore(d, f.image_acquired, nullptr);
  }
  if (command_pool_) vkDestroyCommandPool(d, command_pool_, nullptr);
  if (swapchain_) vkDestroySwapchainKHR(d, swapchain_, nullptr);
  if (surface_) vkDestroySurfaceKHR(ctx_.instance(), surface_, nullptr);
}

void Window::wait_frames() {
  for (Frame& f : frames_)
    if (f.fence) vkWaitForFences(ctx_.device(), 1, &f.fence, VK_TRUE, UINT64_MAX);
}

void Window::create_swapchain() {
  VkSurfaceCapabilitiesKHR caps;
  VK_CHECK(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(ctx_.physical_device(), surface_, &caps));
  int w = 0, h = 0;
  glfwGetFramebufferSize(window_, &w, &h);
  extent_ = caps.currentExtent.width != UINT32_MAX ? caps.currentExtent : VkExtent2D{uint32_t(w), uint32_t(h)};
  extent_.width = std::clamp(extent_.width, caps.minImageExtent.width, caps.maxImageExtent.width);
  extent_.height = std::clamp(extent_.height, caps.minImageExtent.height, caps.maxImageExtent.height);
  min_image_count_ = std::max(caps.minImageCount + 1, 2u);
  if (caps.maxImageCount) min_image_count_ = std::min(min_image_count_, caps.maxImageCount);
  can_capture_ = caps.supportedUsageFlags & VK_IMAGE_USAGE_TRANSFER_SRC_BIT;

  VkSwapchainKHR old = swapchain_;
  VkSwapchainCreateInfoKHR sci{VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR};
  sci.surface = surface_;
  sci.minImageCount = min_image_count_;
  sci.imageFormat = surface_format_.format;
  sci.imageColorSpace = surface_format_.colorSpace;
  sci.imageExtent = extent_;
  sci.imageArrayLayers = 1;
  sci.imageUsage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | (can_capture_ ? VK_IMAGE_USAGE_TRANSFER_SRC_BIT : 0);
  sci.imageSharingMode = VK_SHARING_MODE_EXCLUSIVE;
  sci.preTransform = caps.currentTransform;
  sci.compositeAlpha = VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR;
  sci.presentMode = VK_PRESENT_MODE_FIFO_KHR;  // always supported
  sci.clipped = VK_TRUE;
  sci.oldSwapchain = old;
  VK_CHECK(vkCreateSwapchainKHR(ctx_.device(), &sci, nullptr, &swapchain_));
  if (old) vkDestroySwapchainKHR(ctx_.device(), old, nullptr);

  uint32_t n = 0;
  VK_CHECK(vkGetSwapchainImagesKHR(ctx_.device(), swapchain_, &n, nullptr));
  images_.resize(n);
  VK_CHECK(vkGetSwapchainImagesKHR(ctx_.device(), swapchain_, &n, images_.data()));
  for (VkImage image : images_) {
    VkImageViewCreateInfo vci{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
    vci.image = image;
    vci.viewType = VK_IMAGE_VIEW_TYPE_2D;
    vci.format = surface_format_.format;
    vci.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    VkImageView view;
    VK_CHECK(vkCreateImageView(ctx_.device(), &vci, nullptr, &view));
    views_.push_back(view);
    VkFramebufferCreateInfo fci{VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO};
    fci.renderPass = render_pass_;
    fci.attachmentCount = 1;
    fci.pAttachments = &view;
    fci.width = extent_.width;
    fci.height = extent_.height;
    fci.layers = 1;
    VkFramebuffer fb;
    VK_CHECK(vkCreateFramebuffer(ctx_.device(), &fci, nullptr, &fb));
    framebuffers_.push_back(fb);
    VkSemaphoreCreateInfo semci{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    VkSemaphore s;
    VK_CHECK(vkCreateSemaphore(ctx_.device(), &semci, nullptr, &s));
    render_done_.push_back(s);
  }
}

void Window::destroy_swapchain() {
  VkDevice d = ctx_.device();
  for (auto fb : framebuffers_) vkDestroyFramebuffer(d, fb, nullptr);
  for (auto v : views_) vkDestroyImageView(d, v, nullptr);
  for (auto s : render_done_) vkDestroySemaphore(d, s, nullptr);
  framebuffers_.clear();
  views_.clear();
  render_done_.clear();
  images_.clear();
}

void Window::init_imgui() {
  VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 16};
  VkDescriptorPoolCreateInfo dci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  dci.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
  dci.maxSets = 16;
  dci.poolSizeCount = 1;
  dci.pPoolSizes = &size;
  VK_CHECK(vkCreateDescriptorPool(ctx_.device(), &dci, nullptr, &descriptor_pool_));

  ImGui_ImplVulkan_InitInfo info{};
  info.Instance = ctx_.instance();
  info.PhysicalDevice = ctx_.physical_device();
  info.Device = ctx_.device();
  info.QueueFamily = ctx_.queue_family();
  info.Queue = ctx_.queue();
  info.DescriptorPool = descriptor_pool_;
  info.MinImageCount = min_image_count_;
  info.ImageCount = std::max<uint32_t>(uint32_t(images_.size()), 2);
  info.MSAASamples = VK_SAMPLE_COUNT_1_BIT;
  info.CheckVkResultFn = check_imgui_vk;
  if (!ImGui_ImplVulkan_Init(&info, render_pass_)) throw Error("Dear ImGui's Vulkan backend failed to start");
  imgui_ready_ = true;
  upload_fonts();
}

void Window::upload_fonts() {
  Frame& f = frames_[0];
  VK_CHECK(vkResetCommandBuffer(f.cmd, 0));
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  VK_CHECK(vkBeginCommandBuffer(f.cmd, &bi));
  ImGui_ImplVulkan_CreateFontsTexture(f.cmd);
  VK_CHECK(vkEndCommandBuffer(f.cmd));
  VK_CHECK(vkResetFences(ctx_.device(), 1, &f.fence));
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &f.cmd;
  {
    std::lock_guard lock(ctx_.queue_mutex());
    VK_CHECK(vkQueueSubmit(ctx_.queue(), 1, &si, f.fence));
  }
  VK_CHECK(vkWaitForFences(ctx_.device(), 1, &f.fence, VK_TRUE, UINT64_MAX));
  ImGui_ImplVulkan_DestroyFontUploadObjects();
}

void Window::record(Frame& f, uint32_t image, ImDrawData* draw, bool capture) {
  VK_CHECK(vkResetCommandBuffer(f.cmd, 0));
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  VK_CHECK(vkBeginCommandBuffer(f.cmd, &bi));
  VkClearValue clear{};
  clear.color = {{0.09f, 0.09f, 0.10f, 1.0f}};
  VkRenderPassBeginInfo rbi{VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO};
  rbi.renderPass = render_pass_;
  rbi.framebuffer = framebuffers_[image];
  rbi.renderArea.extent = extent_;
  rbi.clearValueCount = 1;
  rbi.pClearValues = &clear;
  vkCmdBeginRenderPass(f.cmd, &rbi, VK_SUBPASS_CONTENTS_INLINE);
  ImGui_ImplVulkan_RenderDrawData(draw, f.cmd);
  vkCmdEndRenderPass(f.cmd);
  if (capture) {
    VkImageMemoryBarrier b{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
    b.srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
    b.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
    b.oldLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
    b.newLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
    b.srcQueueFamilyIndex = b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    b.image = images_[image];
    b.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    vkCmdPipelineBarrier(f.cmd, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 0,
                         nullptr, 0, nullptr, 1, &b);
    VkBufferImageCopy region{};
    region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
    region.imageExtent = {extent_.width, extent_.height, 1};
    vkCmdCopyImageToBuffer(f.cmd, images_[image], VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, readback_.handle(), 1,
                           &region);
    b.srcAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
    b.dstAccessMask = 0;
    b.oldLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
    b.newLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
    vkCmdPipelineBarrier(f.cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, 0, 0, nullptr,
                         0, nullptr, 1, &b);
    VkBufferMemoryBarrier hb{VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER};
    hb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    hb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    hb.srcQueueFamilyIndex = hb.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    hb.buffer = readback_.handle();
    hb.size = VK_WHOLE_SIZE;
    vkCmdPipelineBarrier(f.cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 0, nullptr, 1, &hb, 0,
                         nullptr);
  }
  VK_CHECK(vkEndCommandBuffer(f.cmd));
}

void Window::render(ImDrawData* draw, Image* capture) {
  int w = 0, h = 0;
  glfwGetFramebufferSize(window_, &w, &h);
  if (w <= 0 || h <= 0) return;  // minimized
  if (capture && !can_capture_) throw Error("this window system cannot copy frames back (no screenshot support)");
  Frame& f = frames_[frame_index_];
  VK_CHECK(vkWaitForFences(ctx_.device(), 1, &f.fence, VK_TRUE, UINT64_MAX));
  if (uint32_t(w) != extent_.width || uint32_t(h) != extent_.height) {
    wait_frames();
    destroy_swapchain();
    create_swapchain();
  }
  uint32_t image = 0;
  VkResult r = vkAcquireNextImageKHR(ctx_.device(), swapchain_, UINT64_MAX, f.image_acquired, VK_NULL_HANDLE, &image);
  if (r == VK_ERROR_OUT_OF_DATE_KHR) {
    wait_frames();
    destroy_swapchain();
    create_swapchain();
    return;  // the next frame draws into the new swapchain
  }
  if (r != VK_SUBOPTIMAL_KHR) VK_CHECK(r);
  const VkDeviceSize bytes = VkDeviceSize(extent_.width) * extent_.height * 4;
  if (capture && readback_.size() < bytes) readback_ = vk::Buffer(ctx_, bytes, vk::MemoryKind::Staging);
  record(f, image, draw, capture != nullptr);

  const VkPipelineStageFlags wait_stage = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.waitSemaphoreCount = 1;
  si.pWaitSemaphores = &f.image_acquired;
  si.pWaitDstStageMask = &wait_stage;
  si.commandBufferCount = 1;
  si.pCommandBuffers = &f.cmd;
  si.signalSemaphoreCount = 1;
  si.pSignalSemaphores = &render_done_[image];
  VK_CHECK(vkResetFences(ctx_.device(), 1, &f.fence));
  VkPresentInfoKHR pi{VK_STRUCTURE_TYPE_PRESENT_INFO_KHR};
  pi.waitSemaphoreCount = 1;
  pi.pWaitSemaphores = &render_done_[image];
  pi.swapchainCount = 1;
  pi.pSwapchains = &swapchain_;
  pi.pImageIndices = &image;
  {
    std::lock_guard lock(ctx_.queue_mutex());
    VK_CHECK(vkQueueSubmit(ctx_.queue(), 1, &si, f.fence));
    r = vkQueuePresentKHR(ctx_.queue(), &pi);
  }
  if (r != VK_ERROR_OUT_OF_DATE_KHR && r != VK_SUBOPTIMAL_KHR) VK_CHECK(r);
  if (capture) {
    VK_CHECK(vkWaitForFences(ctx_.device(), 1, &f.fence, VK_TRUE, UINT64_MAX));
    read_back(*capture);
  }
  frame_index_ = (frame_index_ + 1) % 2;
}

void Window::read_back(Image& out) const {
  out.width = extent_.width;
  out.height = extent_.height;
  out.rgba.resize(size_t(out.width) * out.height * 4);
  const auto* src = static_cast<const uint8_t*>(readback_.mapped());
  const bool bgra = surface_format_.format == VK_FORMAT_B8G8R8A8_UNORM || surface_format_.format == VK_FORMAT_B8G8R8A8_SRGB;
  for (size_t i = 0; i < out.rgba.size(); i += 4) {
    out.rgba[i + 0] = src[i + (bgra ? 2 : 0)];
    out.rgba[i + 1] = src[i + 1];
    out.rgba[i + 2] = src[i + (bgra ? 0 : 2)];
    out.rgba[i + 3] = 255;
  }
}

}  // namespace bitlens::gui
