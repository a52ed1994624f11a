// Kernel choice, argument checks and dispatch geometry for MatMul.
#include "kernels/matmul.h"

#include <algorithm>

#include "common/error.h"
#include "params/matmul.h"

namespace bitlens::kernels {

namespace {

constexpr uint32_t kMatMulLocal = 8;   // invocations (tiles) per mat-mul workgroup
constexpr uint32_t kMatMulTokens = 4;  // tokens per mat-mul invocation (TB)

std::string variant(const char* op, quant::Format f) { return std::string(op) + "_" + quant::format_info(f).name; }

}  // namespace

MatMul::MatMul(Gpu& gpu, const GpuMatrix& w, const vk::Buffer& x, const vk::Buffer& y)
    : gpu_(&gpu), w_(&w), x_(&x), y_(&y) {
  const quant::PackedLayout& l = w.layout();
  const auto texel = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
  const auto storage = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
  const auto uniform = VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER;
  const uint64_t x_range = std::min<uint64_t>(x.size() / 16 * 16, gpu.caps().max_uniform_range / 16 * 16);
  x_uniform_ = gpu.strategy() == Strategy::TilePerInvocation && x_range >= 16;
  if (x_uniform_) {
    // Two tiles per invocation reuse each activation load for 16 rows, when there is enough work.
    const uint32_t tpi = l.tiles() >= 64 ? 2 : 1;
    matvec_local_ = 8;
    matvec_tiles_ = matvec_local_ * tpi;
    matvec_ = &gpu.kernel(variant("matvec_cpu", l.format), {texel, uniform, storage}, sizeof(MatMulParams),
                          {matvec_local_, tpi, uint32_t(x_range / 16)});
    matvec_set_ = vk::DescriptorSet(gpu.ctx(), *matvec_,
                                    {vk::Binding::texel(w.view()), vk::Binding::uniform(x, 0, x_range),
                                     vk::Binding::storage(y)});
  } else {
    matvec_local_ = 4 * gpu.caps().subgroup_size;
    matvec_tiles_ = 4;
    matvec_ = &gpu.kernel(variant("matvec", l.format), {texel, storage, storage}, sizeof(MatMulParams),
                          {matvec_local_, 1, 1});
    matvec_set_ = vk::DescriptorSet(gpu.ctx(), *matvec_,
                                    {vk::Binding::texel(w.view()), vk::Binding::storage(x), vk::Binding::storage(y)});
  }
  matmul_ = &gpu.kernel(variant("matmul", l.format), {texel, storage, storage}, sizeof(MatMulParams),
                        {kMatMulLocal, kMatMulTokens});
  matmul_set_ = vk::DescriptorSet(gpu.ctx(), *matmul_,
                                  {vk::Binding::texel(w.view()), vk::Binding::storage(x), vk::Binding::storage(y)});
}

void MatMul::record(vk::CommandBuffer& cmd, const MatMulArgs& a) const {
  const quant::PackedLayout& l = w_->layout();
  if (a.batch == 0) return;
  MatMulParams p{};
  p.rows = l.rows;
  p.cols = l.cols;
  p.chunks = l.chunks();
  p.chunks_per_group = l.group_size / quant::kChunk;
  p.groups = l.groups();
  p.params_texel = uint32_t(l.params_offset_words() / 4);
  p.batch = a.batch;
  p.x_offset = a.x_offset;
  p.x_stride = a.x_stride ? a.x_stride : activation_stride(l.cols);
  p.y_offset = a.y_offset;
  p.y_stride = a.y_stride ? a.y_stride : l.rows;
  p.accumulate = a.accumulate ? 1 : 0;
  if (p.x_offset % 4 || p.x_stride % 4)
    throw Error("matmul " + l.describe() + ": activation offset and stride must be multiples of 4 floats");
  if (p.x_stride < l.cols || (a.batch > 1 && p.y_stride < l.rows))
    throw Error("matmul " + l.describe() + ": token strides overlap the rows");
  const uint64_t x_need = (uint64_t(p.x_offset) + uint64_t(a.batch - 1) * p.x_stride + l.cols) * 4;
  const uint64_t y_need = (uint64_t(p.y_offset) + uint64_t(a.batch - 1) * p.y_stride + l.rows) * 4;
  if (x_need > x_->size() || y_need > y_->size())
    throw Error("matmul " + l.describe() + " with batch " + std::to_string(a.batch) +
                ": the activation buffers are too small for the requested offsets and strides");
  if (a.batch == 1) {
    if (x_uniform_ && x_need > std::min<uint64_t>(x_->size(), gpu_->caps().max_uniform_range) / 16 * 16)
      throw UnsupportedError("matvec " + l.describe() + ": x at offset " + std::to_string(p.x_offset) +
                             " lies beyond the uniform-buffer range of this device");
    cmd.dispatch(*matvec_, matvec_set_, p, (l.tiles() + matvec_tiles_ - 1) / matvec_tiles_);
    return;
  }
  cmd.dispatch(*matmul_, matmul_set_, p, (l.tiles() + kMatMulLocal - 1) / kMatMulLocal,
               (a.batch + kMatMulTokens - 1) / kMatMulTokens);
}

}  // namespace bitlens::kernels
