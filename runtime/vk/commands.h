// Command recording (dispatches, barriers, copies, timestamps) and fenced submission; plus the
// timestamp query pool used for per-kernel timing.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <vector>

namespace bitlens::vk {

class Context;
class Buffer;
class Kernel;
class DescriptorSet;

class QueryPool {
 public:
  QueryPool(Context& ctx, uint32_t count);
  ~QueryPool();
  QueryPool(const QueryPool&) = delete;
  QueryPool& operator=(const QueryPool&) = delete;

  VkQueryPool handle() const { return pool_; }
  uint32_t count() const { return count_; }
  // Timestamps [0, n) in nanoseconds; call after the commands that wrote them completed.
  std::vector<double> read_ns(uint32_t n) const;

 private:
  Context* ctx_;
  VkQueryPool pool_ = VK_NULL_HANDLE;
  uint32_t count_;
};

class CommandBuffer {
 public:
  explicit CommandBuffer(Context& ctx);  // allocated and begun, ready to record
  ~CommandBuffer();
  CommandBuffer(const CommandBuffer&) = delete;
  CommandBuffer& operator=(const CommandBuffer&) = delete;

  VkCommandBuffer handle() const { return cmd_; }

  void dispatch(const Kernel& kernel, const DescriptorSet& set, const void* push, uint32_t push_bytes,
                uint32_t groups_x, uint32_t groups_y = 1, uint32_t groups_z = 1);
  template <class Push>
  void dispatch(const Kernel& kernel, const DescriptorSet& set, const Push& push, uint32_t groups_x,
                uint32_t groups_y = 1, uint32_t groups_z = 1) {
    dispatch(kernel, set, &push, sizeof(Push), groups_x, groups_y, groups_z);
  }
  // Makes every earlier shader or transfer write visible to later shader reads, transfers and the host.
  void barrier();
  void copy(const Buffer& src, Buffer& dst, VkDeviceSize bytes, VkDeviceSize src_offset = 0,
            VkDeviceSize dst_offset = 0);
  void fill(Buffer& dst, uint32_t word, VkDeviceSize offset, VkDeviceSize bytes);
  void reset_queries(QueryPool& pool, uint32_t first, uint32_t count);
  void timestamp(QueryPool& pool, uint32_t index);

  // Ends recording (once), submits and blocks until the device finished. Can be re-submitted.
  void submit_and_wait();
  // Discards what was recorded and begins recording again.
  void reset();

 private:
  Context* ctx_;
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  bool recording_ = false;
};

}  // namespace bitlens::vk
