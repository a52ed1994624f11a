// Upload of packed matrices.
#include "kernels/gpu_matrix.h"

#include "common/error.h"

namespace bitlens::kernels {

GpuMatrix::GpuMatrix(Gpu& gpu, const quant::PackedMatrix& packed) : layout_(packed.layout) {
  quant::validate(layout_);
  if (packed.words.size() != layout_.total_words())
    throw Error("packed matrix " + layout_.describe() + " has the wrong number of words");
  if (layout_.total_bytes() / 16 > gpu.caps().max_texel_elements)
    throw UnsupportedError("matrix " + layout_.describe() + " needs " + std::to_string(layout_.total_bytes() / 16) +
                           " texels, more than this device's texel-buffer limit of " +
                           std::to_string(gpu.caps().max_texel_elements));
  const uint64_t bytes = (layout_.total_bytes() + 15) / 16 * 16;
  buffer_ = vk::Buffer(gpu.ctx(), bytes);
  buffer_.upload(packed.words.data(), layout_.total_bytes());
  view_ = vk::BufferView(gpu.ctx(), buffer_, VK_FORMAT_R32G32B32A32_UINT, 0, bytes);
}

}  // namespace bitlens::kernels
