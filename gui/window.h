// Window: a GLFW window whose swapchain lives on the runtime's Vulkan device (the one that runs the
// model), rendering Dear ImGui draw data through imgui_impl_vulkan, with read-back of a frame for
// screenshots. It uses its own command pool and takes the context's queue lock for every submit
// and present, so the session's worker thread can compute on the same queue meanwhile.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vk/buffer.h"
#include "vk/context.h"

struct GLFWwindow;
struct ImDrawData;

namespace bitlens::gui {

// An RGBA8 image, rows top to bottom.
struct Image {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> rgba;
};

// Context options that let the device present to GLFW windows (GLFW must be initialized).
vk::ContextOptions presenting_context_options(vk::ContextOptions base);

class Window {
 public:
  Window(vk::Context& ctx, GLFWwindow* window);
  ~Window();
  Window(const Window&) = delete;
  Window& operator=(const Window&) = delete;

  // Renders one frame of ImGui draw data and presents it; when `capture` is set, also copies the
  // frame back into it. Recreates the swapchain when the window size changed.
  void render(ImDrawData* draw, Image* capture = nullptr);

 private:
  struct Frame {
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    VkSemaphore image_acquired = VK_NULL_HANDLE;
  };

  void create_swapchain();
  void destroy_swapchain();
  void init_imgui();
  void upload_fonts();
  void wait_frames();
  void record(Frame& f, uint32_t image, ImDrawData* draw, bool capture);
  void read_back(Image& out) const;

  vk::Context& ctx_;
  GLFWwindow* window_;
  VkSurfaceKHR surface_ = VK_NULL_HANDLE;
  VkSurfaceFormatKHR surface_format_{};
  VkSwapchainKHR swapchain_ = VK_NULL_HANDLE;
  VkExtent2D extent_{};
  VkRenderPass render_pass_ = VK_NULL_HANDLE;
  VkDescriptorPool descriptor_pool_ = VK_NULL_HANDLE;
  VkCommandPool command_pool_ = VK_NULL_HANDLE;
  std::vector<VkImage> images_;
  std::vector<VkImageView> views_;
  std::vector<VkFramebuffer> framebuffers_;
  std::vector<VkSemaphore> render_done_;  // one per swapchain image
  Frame frames_[2];
  uint32_t frame_index_ = 0;
  uint32_t min_image_count_ = 2;
  bool imgui_ready_ = false;
  bool can_capture_ = false;
  vk::Buffer readback_;  // host-visible copy of the captured frame
};

}  // namespace bitlens::gui
