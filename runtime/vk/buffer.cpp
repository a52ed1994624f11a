// Buffer allocation, mapping, staged transfers and texel views.
#include "vk/buffer.h"

#include <cstring>
#include <utility>
#include <vector>

#include "vk/check.h"
#include "vk/commands.h"
#include "vk/context.h"

namespace bitlens::vk {

Buffer::Buffer(Context& ctx, VkDeviceSize size, MemoryKind kind, const std::string& what) : ctx_(&ctx), size_(size) {
  if (size == 0) throw Error("cannot create an empty Vulkan buffer");
  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = size;
  bci.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  if (kind == MemoryKind::Device)
    bci.usage |= VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT |
                 VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VK_CHECK(vkCreateBuffer(ctx.device(), &bci, nullptr, &buffer_));
  try {
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(ctx.device(), buffer_, &req);
    const VkMemoryPropertyFlags required =
        kind == MemoryKind::Staging ? VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT : 0;
    const VkMemoryPropertyFlags preferred =
        kind == MemoryKind::Staging ? VK_MEMORY_PROPERTY_HOST_CACHED_BIT : VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    uint32_t type = ctx.memory_type(req.memoryTypeBits, required, preferred);
    VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    mai.allocationSize = req.size;
    mai.memoryTypeIndex = type;
    memory_ = ctx.allocate_memory(mai, what.empty() && kind == MemoryKind::Staging ? "a staging buffer" : what);
    allocated_ = req.size;
    VK_CHECK(vkBindBufferMemory(ctx.device(), buffer_, memory_, 0));
    const auto flags = ctx.memory_flags(type);
    if ((flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) && (flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) &&
        (kind == MemoryKind::Staging || ctx.caps().unified_memory))
      VK_CHECK(vkMapMemory(ctx.device(), memory_, 0, VK_WHOLE_SIZE, 0, &mapped_));
  } catch (...) {
    release();
    throw;
  }
}

Buffer::~Buffer() { release(); }

void Buffer::release() {
  if (!ctx_) return;
  if (mapped_) vkUnmapMemory(ctx_->device(), memory_);
  if (buffer_) vkDestroyBuffer(ctx_->device(), buffer_, nullptr);
  ctx_->free_memory(memory_, allocated_);
  mapped_ = nullptr;
  allocated_ = 0;
  buffer_ = VK_NULL_HANDLE;
  memory_ = VK_NULL_HANDLE;
}

Buffer::Buffer(Buffer&& o) noexcept
    : ctx_(std::exchange(o.ctx_, nullptr)),
      buffer_(std::exchange(o.buffer_, VK_NULL_HANDLE)),
      memory_(std::exchange(o.memory_, VK_NULL_HANDLE)),
      size_(std::exchange(o.size_, 0)),
      mapped_(std::exchange(o.mapped_, nullptr)),
      allocated_(std::exchange(o.allocated_, 0)) {}

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    release();
    ctx_ = std::exchange(o.ctx_, nullptr);
    buffer_ = std::exchange(o.buffer_, VK_NULL_HANDLE);
    memory_ = std::exchange(o.memory_, VK_NULL_HANDLE);
    size_ = std::exchange(o.size_, 0);
    mapped_ = std::exchange(o.mapped_, nullptr);
    allocated_ = std::exchange(o.allocated_, 0);
  }
  return *this;
}

static void check_range(VkDeviceSize size, VkDeviceSize offset, VkDeviceSize bytes) {
  if (offset > size || bytes > size - offset)
    throw Error("buffer transfer of " + std::to_string(bytes) + " bytes at offset " + std::to_string(offset) +
                " exceeds the buffer's " + std::to_string(size) + " bytes");
}

void Buffer::upload(const void* data, VkDeviceSize bytes, VkDeviceSize offset) {
  check_range(size_, offset, bytes);
  if (bytes == 0) return;
  if (mapped_) {
    std::memcpy(static_cast<uint8_t*>(mapped_) + offset, data, bytes);
    return;
  }
  Buffer staging(*ctx_, bytes, MemoryKind::Staging);
  std::memcpy(staging.mapped(), data, bytes);
  CommandBuffer cmd(*ctx_);
  cmd.copy(staging, *this, bytes, 0, offset);
  cmd.submit_and_wait();
}

void Buffer::download(void* data, VkDeviceSize bytes, VkDeviceSize offset) const {
  check_range(size_, offset, bytes);
  if (bytes == 0) return;
  if (mapped_) {
    std::memcpy(data, static_cast<const uint8_t*>(mapped_) + offset, bytes);
    return;
  }
  Buffer staging(*ctx_, bytes, MemoryKind::Staging);
  CommandBuffer cmd(*ctx_);
  cmd.copy(*this, staging, bytes, offset, 0);
  cmd.submit_and_wait();
  std::memcpy(data, staging.mapped(), bytes);
}

void Buffer::fill(uint32_t word, VkDeviceSize offset, VkDeviceSize bytes) {
  if (bytes == VK_WHOLE_SIZE) bytes = size_ - offset;
  check_range(size_, offset, bytes);
  CommandBuffer cmd(*ctx_);
  cmd.fill(*this, word, offset, bytes & ~VkDeviceSize(3));
  cmd.submit_and_wait();
}

uint32_t texel_bytes(VkFormat format) {
  switch (format) {
    case VK_FORMAT_R8_UINT: return 1;
    case VK_FORMAT_R16_UINT:
    case VK_FORMAT_R16_SFLOAT: return 2;
    case VK_FORMAT_R32_UINT:
    case VK_FORMAT_R32_SFLOAT:
    case VK_FORMAT_R16G16_SFLOAT: return 4;
    case VK_FORMAT_R32G32_UINT:
    case VK_FORMAT_R32G32_SFLOAT:
    case VK_FORMAT_R16G16B16A16_SFLOAT: return 8;
    case VK_FORMAT_R32G32B32A32_UINT:
    case VK_FORMAT_R32G32B32A32_SFLOAT: return 16;
    default: throw Error("texel_bytes: unsupported texel format " + std::to_string(int(format)));
  }
}

BufferView::BufferView(Context& ctx, const Buffer& buffer, VkFormat format, VkDeviceSize offset, VkDeviceSize range)
    : device_(ctx.device()) {
  if (range == VK_WHOLE_SIZE) range = buffer.size() - offset;
  const uint32_t tb = texel_bytes(format);
  range -= range % tb;
  if (offset % ctx.caps().texel_offset_alignment != 0)
    throw Error("texel buffer view offset " + std::to_string(offset) + " is not aligned to " +
                std::to_string(ctx.caps().texel_offset_alignment));
  if (range / tb > ctx.caps().max_texel_elements)
    throw UnsupportedError("texel buffer of " + std::to_string(range / tb) + " elements exceeds this device's limit of " +
                           std::to_string(ctx.caps().max_texel_elements));
  VkBufferViewCreateInfo ci{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
  ci.buffer = buffer.handle();
  ci.format = format;
  ci.offset = offset;
  ci.range = range;
  VK_CHECK(vkCreateBufferView(device_, &ci, nullptr, &view_));
}

BufferView::~BufferView() {
  if (view_) vkDestroyBufferView(device_, view_, nullptr);
}

BufferView::BufferView(BufferView&& o) noexcept
    : device_(o.device_), view_(std::exchange(o.view_, VK_NULL_HANDLE)) {}

BufferView& BufferView::operator=(BufferView&& o) noexcept {
  if (this != &o) {
    if (view_) vkDestroyBufferView(device_, view_, nullptr);
    device_ = o.device_;
    view_ = std::exchange(o.view_, VK_NULL_HANDLE);
  }
  return *this;
}

}  // namespace bitlens::vk
