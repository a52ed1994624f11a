// A packed weight matrix resident on the device: one buffer read through a uvec4 texel view.
#pragma once

#include "kernels/gpu.h"
#include "quant/packing.h"
#include "vk/buffer.h"

namespace bitlens::kernels {

class GpuMatrix {
 public:
  GpuMatrix(Gpu& gpu, const quant::PackedMatrix& packed);

  const quant::PackedLayout& layout() const { return layout_; }
  const vk::Buffer& buffer() const { return buffer_; }
  const vk::BufferView& view() const { return view_; }
  uint64_t bytes() const { return layout_.total_bytes(); }

 private:
  quant::PackedLayout layout_;
  vk::Buffer buffer_;
  vk::BufferView view_;
};

}  // namespace bitlens::kernels
