// PackedLinear layers on the device, in groups that read the same activation rows (wq/wk/wv,
// w1/w3, or one layer alone): x' = rotate(x) (once per distinct sign vector, into a scratch copy
// of the input), y' = W x' through the packed MatMul, y = rotate_inverse(y') in place on the
// output. Layers without rotations read the input and write (or accumulate into) the output
// directly. Consecutive layers that share format, input and output buffer and write adjacent
// rows are fused at load time into one stacked matrix and one product (one dispatch for
// wq/wk/wv, one for w1/w3).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kernels/gpu.h"
#include "kernels/gpu_matrix.h"
#include "kernels/matmul.h"
#include "kernels/recording.h"
#include "kernels/rotate.h"
#include "model/packed_model.h"
#include "vk/buffer.h"

namespace bitlens::model {

// Scratch activation buffers for rotated inputs, allocated on first use and shared by all groups
// (a group uses buffer i for its i-th distinct input rotation).
class RotationScratch {
 public:
  RotationScratch(kernels::Gpu& gpu, uint64_t bytes) : gpu_(&gpu), bytes_(bytes) {}
  vk::Buffer& buffer(uint32_t i);

 private:
  kernels::Gpu* gpu_;
  uint64_t bytes_;
  std::vector<std::unique_ptr<vk::Buffer>> buffers_;
};

// Where one layer of a group writes: out rows at out_offset + t * out_stride; accumulate adds
// to what is there (not allowed with an output rotation).
struct LinearTarget {
  std::string name;  // "wq", ... (op label)
  const PackedLinear* linear = nullptr;
  const vk::Buffer* out = nullptr;
  uint32_t out_offset = 0;
  uint32_t out_stride = 0;
  bool accumulate = false;
};

class GpuLinearGroup {
 public:
  // The layers read rows of `in_width` floats at t * in_stride of `in`.
  GpuLinearGroup(kernels::Gpu& gpu, const vk::Buffer& in, uint32_t in_width, uint32_t in_stride,
                 const std::vector<LinearTarget>& targets, RotationScratch& scratch);
  // Records the group for n tokens; ends with the outputs written (the caller adds the barrier
  // before their readers).
  void record(kernels::Recording& rec, uint32_t n) const;
  uint64_t weight_bytes() const;

 private:
  struct RotatedInput {
    std::vector<uint32_t> signs;
    vk::Buffer* scratch;
    std::unique_ptr<kernels::Rotation> rotation;
  };
  // One product: a layer, or several fused into one stacked matrix.
  struct Layer {
    LinearTarget target;  // of the first fused layer; name joins all names
    std::unique_ptr<kernels::GpuMatrix> weight;
    std::unique_ptr<kernels::MatMul> matmul;
    std::unique_ptr<kernels::Rotation> output_rotation;  // inverse direction
  };
  void add_layer(kernels::Gpu& gpu, std::span<const LinearTarget> fused, RotationScratch& scratch);
  const vk::Buffer& input_for(kernels::Gpu& gpu, const PackedLinear& linear, RotationScratch& scratch);

  const vk::Buffer* in_;
  uint32_t in_width_, in_stride_;
  std::vector<RotatedInput> inputs_;
  std::vector<Layer> layers_;
};

}  // namespace bitlens::model
