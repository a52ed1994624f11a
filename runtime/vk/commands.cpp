// Command buffers: recording helpers and blocking submission.
#include "vk/commands.h"

#include <mutex>

#include "vk/buffer.h"
#include "vk/check.h"
#include "vk/context.h"
#include "vk/pipeline.h"

namespace bitlens::vk {

QueryPool::QueryPool(Context& ctx, uint32_t count) : ctx_(&ctx), count_(count) {
  if (!ctx.caps().timestamps) throw UnsupportedError("this Vulkan device has no compute-queue timestamps");
  VkQueryPoolCreateInfo ci{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
  ci.queryType = VK_QUERY_TYPE_TIMESTAMP;
  ci.queryCount = count;
  VK_CHECK(vkCreateQueryPool(ctx.device(), &ci, nullptr, &pool_));
}

QueryPool::~QueryPool() {
  if (pool_) vkDestroyQueryPool(ctx_->device(), pool_, nullptr);
}

std::vector<double> QueryPool::read_ns(uint32_t n) const {
  std::vector<uint64_t> raw(n);
  if (n) {
    VK_CHECK(vkGetQueryPoolResults(ctx_->device(), pool_, 0, n, n * sizeof(uint64_t), raw.data(), sizeof(uint64_t),
                                   VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
  }
  std::vector<double> ns(n);
  for (uint32_t i = 0; i < n; ++i) ns[i] = double(raw[i]) * ctx_->caps().timestamp_period_ns;
  return ns;
}

CommandBuffer::CommandBuffer(Context& ctx) : ctx_(&ctx) {
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = ctx.command_pool();
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VK_CHECK(vkAllocateCommandBuffers(ctx.device(), &ai, &cmd_));
  VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  const VkResult r = vkCreateFence(ctx.device(), &fci, nullptr, &fence_);
  if (r != VK_SUCCESS) {
    vkFreeCommandBuffers(ctx.device(), ctx.command_pool(), 1, &cmd_);
    VK_CHECK(r);
  }
  reset();
}

CommandBuffer::~CommandBuffer() {
  if (fence_) vkDestroyFence(ctx_->device(), fence_, nullptr);
  if (cmd_) vkFreeCommandBuffers(ctx_->device(), ctx_->command_pool(), 1, &cmd_);
}

void CommandBuffer::reset() {
  VK_CHECK(vkResetCommandBuffer(cmd_, 0));
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  VK_CHECK(vkBeginCommandBuffer(cmd_, &bi));
  recording_ = true;
}

void CommandBuffer::dispatch(const Kernel& kernel, const DescriptorSet& set, const void* push, uint32_t push_bytes,
                             uint32_t gx, uint32_t gy, uint32_t gz) {
  if (push_bytes != kernel.push_constant_bytes())
    throw Error("kernel '" + kernel.name() + "' takes " + std::to_string(kernel.push_constant_bytes()) +
                " bytes of push constants, got " + std::to_string(push_bytes));
  if (gx == 0 || gy == 0 || gz == 0) return;
  vkCmdBindPipeline(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, kernel.pipeline());
  VkDescriptorSet s = set.handle();
  vkCmdBindDescriptorSets(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, kernel.layout(), 0, 1, &s, 0, nullptr);
  if (push_bytes) vkCmdPushConstants(cmd_, kernel.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
  vkCmdDispatch(cmd_, gx, gy, gz);
}

void CommandBuffer::barrier() {
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                     VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_READ_BIT | VK_ACCESS_UNIFORM_READ_BIT;
  vkCmdPipelineBarrier(cmd_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                       0, 1, &mb, 0, nullptr, 0, nullptr);
}

void CommandBuffer::copy(const Buffer& src, Buffer& dst, VkDeviceSize bytes, VkDeviceSize src_offset,
                         VkDeviceSize dst_offset) {
  VkBufferCopy region{src_offset, dst_offset, bytes};
  vkCmdCopyBuffer(cmd_, src.handle(), dst.handle(), 1, &region);
}

void CommandBuffer::fill(Buffer& dst, uint32_t word, VkDeviceSize offset, VkDeviceSize bytes) {
  vkCmdFillBuffer(cmd_, dst.handle(), offset, bytes, word);
}

void CommandBuffer::reset_queries(QueryPool& pool, uint32_t first, uint32_t count) {
  vkCmdResetQueryPool(cmd_, pool.handle(), first, count);
}

void CommandBuffer::timestamp(QueryPool& pool, uint32_t index) {
  vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool.handle(), index);
}

void CommandBuffer::submit_and_wait() {
  if (recording_) {
    barrier();  // results visible to the host and to whatever runs next
    VK_CHECK(vkEndCommandBuffer(cmd_));
    recording_ = false;
  }
  ctx_->count_submission();
  VK_CHECK(vkResetFences(ctx_->device(), 1, &fence_));
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cmd_;
  {
    std::lock_guard lock(ctx_->queue_mutex());
    VK_CHECK(vkQueueSubmit(ctx_->queue(), 1, &si, fence_));
  }
  VK_CHECK(vkWaitForFences(ctx_->device(), 1, &fence_, VK_TRUE, UINT64_MAX));
}

}  // namespace bitlens::vk
