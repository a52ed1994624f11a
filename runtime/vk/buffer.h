// Move-only GPU buffers and texel-buffer views. Device buffers carry storage, uniform, texel and
// transfer usage so that one buffer can be written as an SSBO and read as a texel buffer.
#pragma once

#include <vulkan/vulkan.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace bitlens::vk {

class Context;

enum class MemoryKind {
  Device,   // device-local; mapped directly when the device's memory is host-visible (lavapipe, iGPUs)
  Staging,  // host-visible, for uploads and read-back
};

class Buffer {
 public:
  Buffer() = default;
  // `what` names the buffer in an out-of-memory message ("the KV cache"); empty: "a device buffer".
  Buffer(Context& ctx, VkDeviceSize size, MemoryKind kind = MemoryKind::Device, const std::string& what = {});
  ~Buffer();
  Buffer(Buffer&& o) noexcept;
  Buffer& operator=(Buffer&& o) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  VkBuffer handle() const { return buffer_; }
  VkDeviceSize size() const { return size_; }
  bool valid() const { return buffer_ != VK_NULL_HANDLE; }
  void* mapped() const { return mapped_; }  // null when the memory is not host-visible

  // Host <-> device copies at a byte offset; go through a staging buffer when not mapped.
  void upload(const void* data, VkDeviceSize bytes, VkDeviceSize offset = 0);
  void download(void* data, VkDeviceSize bytes, VkDeviceSize offset = 0) const;
  template <class T>
  void upload(std::span<const T> v, VkDeviceSize offset = 0) {
    upload(v.data(), v.size_bytes(), offset);
  }
  template <class T>
  void download(std::span<T> v, VkDeviceSize offset = 0) const {
    download(v.data(), v.size_bytes(), offset);
  }
  // Sets every 32-bit word of [offset, offset+bytes) to `word` (used to poison outputs in tests).
  void fill(uint32_t word, VkDeviceSize offset = 0, VkDeviceSize bytes = VK_WHOLE_SIZE);

 private:
  void release();
  Context* ctx_ = nullptr;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  VkDeviceSize size_ = 0;
  void* mapped_ = nullptr;
  VkDeviceSize allocated_ = 0;  // bytes of memory_, counted against the context's budget
};

// A typed view of part of a buffer, for (uniform or storage) texel-buffer bindings.
class BufferView {
 public:
  BufferView() = default;
  BufferView(Context& ctx, const Buffer& buffer, VkFormat format, VkDeviceSize offset = 0,
             VkDeviceSize range = VK_WHOLE_SIZE);
  ~BufferView();
  BufferView(BufferView&& o) noexcept;
  BufferView& operator=(BufferView&& o) noexcept;
  BufferView(const BufferView&) = delete;
  BufferView& operator=(const BufferView&) = delete;

  VkBufferView handle() const { return view_; }

 private:
  VkDevice device_ = VK_NULL_HANDLE;
  VkBufferView view_ = VK_NULL_HANDLE;
};

// Bytes per texel of the formats bitlens uses for texel buffers.
uint32_t texel_bytes(VkFormat format);

}  // namespace bitlens::vk
