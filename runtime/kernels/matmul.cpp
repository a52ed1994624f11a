// Kernel choice, argument checks and dispatch geometry for MatMul.
#include "kernels/matmul.h"

#include <algorithm>

#include "common/error.h"
#include "params/matmul.h"

namespace bitlens::kernels {

namespace {

constexpr uint32_t kMatMulLocal = 8;  // invocations per mat-mul workgroup

std::string variant(const char* op, quant::Format f) { return std::string(op) + "_" + quant::format_info(f).name; }

}  // namespace

MatMul::MatMul(Gpu& gpu, const GpuMatrix& w, const vk::Buffer& x, const vk::Buffer& y, const MatMulTuning& tuning,
               const vk::Buffer* norm_weights, const Rotation* input_rotation)
    : gpu_(&gpu), w_(&w), x_(&x), y_(&y), norm_weights_(norm_weights) {
  const quant::PackedLayout& l = w.layout();
  const auto& caps = gpu.caps();
  const auto texel = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
  const auto storage = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
  const uint64_t x_range = std::min<uint64_t>(x.size() / 16 * 16, caps.max_uniform_range / 16 * 16);
  // The GPU kernel spreads the lanes of a subgroup over the 8 rows of a tile.
  const bool subgroup_kernel = gpu.strategy() == Strategy::TilePerSubgroup && caps.subgroup_size >= quant::kTileRows &&
                               caps.subgroup_size % quant::kTileRows == 0;
  x_uniform_ = !subgroup_kernel;
  if (x_uniform_ && x_range < 16)
    throw UnsupportedError("matvec " + l.describe() + ": the activation buffer cannot be bound as a uniform buffer");
  if (x_uniform_) {
    // Measured on lavapipe (docs/PERFORMANCE.md): two subgroups per workgroup and two tiles per
    // invocation (each activation load reused for 16 rows) are fastest; one tile for small matrices.
    const uint32_t tpi = tuning.tiles_per_invocation ? tuning.tiles_per_invocation : l.tiles() >= 64 ? 2 : 1;
    const uint32_t local = tuning.local ? tuning.local : 2 * std::max(1u, caps.subgroup_size);
    matvec_tiles_ = local * tpi;
    const bool grouped_low_bits = l.format == quant::Format::Q2 || l.format == quant::Format::Q3;
    const bool shuffle = caps.subgroup_shuffle && caps.subgroup_size >= 8;
    const bool lut = tuning.lookup_tables && grouped_low_bits && shuffle;
    // matvec.comp's formats only (the low-bit formats' kernel loads x per lane).
    const bool shuffled_x = tuning.shuffled_x && shuffle && quant::format_info(l.format).kind != quant::FormatKind::LowBit;
    transforms_input_ = lut || shuffled_x;
    rotates_input_ = input_rotation && transforms_input_ && input_rotation->fits_matvec() &&
                     input_rotation->width() == l.cols;
    const char* kernel = lut ? (rotates_input_ ? "matvec_lut_rot" : "matvec_lut")
                             : shuffled_x ? (rotates_input_ ? "matvec_rot" : "matvec_cpu_shuffle") : "matvec_cpu";
    std::vector<vk::Binding> bindings{vk::Binding::texel(w.view()), vk::Binding::uniform(x, 0, x_range),
                                      vk::Binding::storage(y)};
    if (transforms_input_) {  // the RMSNorm weights (any float buffer when there are none)
      const vk::Buffer& nw = norm_weights ? *norm_weights : x;
      norm_view_ = vk::BufferView(gpu.ctx(), nw, VK_FORMAT_R32G32B32A32_SFLOAT, 0,
                                  std::min<uint64_t>(nw.size() / 16, caps.max_texel_elements) * 16);
      bindings.push_back(vk::Binding::texel(norm_view_));
    }
    std::vector<uint32_t> spec = {local, tpi, uint32_t(x_range / 16)};
    if (rotates_input_) {
      bindings.push_back(vk::Binding::uniform(input_rotation->sign_words()));
      const std::vector<uint32_t> r = input_rotation->matvec_spec();
      spec.insert(spec.end(), r.begin(), r.end());
    }
    std::vector<VkDescriptorType> types;
    for (const vk::Binding& b : bindings) types.push_back(b.type);
    matvec_ = &gpu.kernel(variant(kernel, l.format), types, sizeof(MatMulParams), spec);
    matvec_set_ = vk::DescriptorSet(gpu.ctx(), *matvec_, bindings);
  } else {
    // One tile per workgroup; its subgroups split K. More subgroups for fewer tiles, so that a
    // 4096-row matrix still fills a large GPU; never more than the chunks can feed.
    uint32_t split = tuning.subgroups_per_tile;
    if (split == 0) split = l.tiles() >= 4096 ? 1 : l.tiles() >= 1024 ? 2 : 4;
    const uint32_t slots_per_subgroup = std::max(1u, caps.subgroup_size / quant::kTileRows);
    split = std::clamp(std::min(split, l.chunks() / slots_per_subgroup), 1u, 8u);
    // The low-bit formats' kernel (matvec_lowbit.comp) gives each subgroup a tile of its own.
    if (quant::format_info(l.format).kind == quant::FormatKind::LowBit) split = 1;
    matvec_tiles_ = 1;
    matvec_ = &gpu.kernel(variant("matvec", l.format), {texel, storage, storage}, sizeof(MatMulParams),
                          {split * caps.subgroup_size, 1, 1});
    matvec_set_ = vk::DescriptorSet(gpu.ctx(), *matvec_,
                                    {vk::Binding::texel(w.view()), vk::Binding::storage(x), vk::Binding::storage(y)});
  }
  // Mat-mul: on CPU devices 4 tokens and 2 tiles per invocation (measured fastest,
  // docs/PERFORMANCE.md); on GPUs 8 tokens (each weight fetched once for 8 tokens; registers are
  // plentiful) and 1 tile (more invocations).
  matmul_tokens_ = tuning.batch_tokens ? tuning.batch_tokens : subgroup_kernel ? 8 : 4;
  const uint32_t tpi = tuning.batch_tiles ? tuning.batch_tiles : subgroup_kernel ? 1 : 2;
  matmul_tiles_ = kMatMulLocal * tpi;
  matmul_ = &gpu.kernel(variant("matmul", l.format), {texel, texel, storage}, sizeof(MatMulParams),
                        {kMatMulLocal, matmul_tokens_, tpi});
  const uint64_t x_texels = std::min<uint64_t>(x.size() / 16, caps.max_texel_elements);
  if (x_texels > 0) {
    x_view_ = vk::BufferView(gpu.ctx(), x, VK_FORMAT_R32G32B32A32_SFLOAT, 0, x_texels * 16);
    matmul_set_ = vk::DescriptorSet(gpu.ctx(), *matmul_,
                                    {vk::Binding::texel(w.view()), vk::Binding::texel(x_view_), vk::Binding::storage(y)});
  }
  x_view_floats_ = x_texels * 4;
}

uint64_t MatMul::uniform_x_bytes() const {
  if (!x_uniform_) return x_->size();
  return std::min<uint64_t>(x_->size(), gpu_->caps().max_uniform_range) / 16 * 16;
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
  uint64_t x_need = (uint64_t(p.x_offset) + uint64_t(a.batch - 1) * p.x_stride + l.cols) * 4;
  const uint64_t y_need = (uint64_t(p.y_offset) + uint64_t(a.batch - 1) * p.y_stride + l.rows) * 4;
  if (x_need > x_->size() || y_need > y_->size())
    throw Error("matmul " + l.describe() + " with batch " + std::to_string(a.batch) +
                ": the activation buffers are too small for the requested offsets and strides");
  if (a.input.kind != InputTransform::Kind::None) {
    if (a.batch != 1 || !transforms_input_)
      throw Error("matmul " + l.describe() + ": this kernel does not transform its input");
    p.x_transform = uint32_t(a.input.kind);
    p.x_transform_offset = a.input.offset;
    p.eps = a.input.eps;
    if (a.input.offset % 4) throw Error("matvec " + l.describe() + ": input transform offset not a multiple of 4");
    if (a.input.kind == InputTransform::Kind::RmsNorm) {
      if (!norm_weights_ || (uint64_t(a.input.offset) + l.cols) * 4 > norm_weights_->size())
        throw Error("matvec " + l.describe() + ": the RMSNorm weights lie beyond their buffer");
    } else {
      x_need = std::max(x_need, (uint64_t(p.x_offset) + a.input.offset + l.cols) * 4);
      if (x_need > x_->size()) throw Error("matvec " + l.describe() + ": the SwiGLU up row lies beyond x");
    }
  }
  if (a.batch == 1) {
    if (x_uniform_ && x_need > uniform_x_bytes())
      throw UnsupportedError("matvec " + l.describe() + ": x at offset " + std::to_string(p.x_offset) +
                             " lies beyond the uniform-buffer range of this device");
    const uint32_t groups = (l.tiles() + matvec_tiles_ - 1) / matvec_tiles_;
    if (groups > gpu_->caps().max_workgroup_count_x)
      throw UnsupportedError("matvec " + l.describe() + " needs more workgroups than this device dispatches");
    cmd.dispatch(*matvec_, matvec_set_, p, groups);
    return;
  }
  if (x_need > x_view_floats_ * 4)
    throw UnsupportedError("matmul " + l.describe() + ": the activations lie beyond this device's texel-buffer range");
  cmd.dispatch(*matmul_, matmul_set_, p, (l.tiles() + matmul_tiles_ - 1) / matmul_tiles_,
               (a.batch + matmul_tokens_ - 1) / matmul_tokens_);
}

}  // namespace bitlens::kernels
