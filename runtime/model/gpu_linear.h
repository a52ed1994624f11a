// PackedLinear layers on the device, in groups that read the same activation rows (wq/wk/wv,
// w1/w3, or one layer alone): x' = rotate(x) (once per distinct sign vector, into a scratch copy
// of the input), y' = W x' through the packed MatMul, then for a layer with LoRA factors
// u = A x' (fp16 A, into a scratch buffer) and y' += (scale B) u (B scaled in fp32),
// y = rotate_inverse(y') in place on the output. Layers without rotations read the input and write (or accumulate into) the output
// directly. Consecutive layers that share format, input and output buffer and write adjacent
// rows are fused at load time into one stacked matrix and one product (one dispatch for
// wq/wk/wv, one for w1/w3). For decode, the mat-vecs of a group without LoRA can instead read the
// raw input and apply the RMSNorm or SwiGLU product before it, and the input rotation, themselves
// (fuse_decode_input); output rotations stay dispatches of their own (one per run of layers that
// write adjacent parts of a buffer).
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

// Scratch activation buffers for rotated inputs, LoRA products and rotated products, allocated on
// first use and shared by all groups (a group uses buffer i for its i-th distinct input rotation,
// LoRA buffer i for the A x' of its i-th layer with LoRA factors, and the product buffer for the
// products whose output rotation adds them to their output).
class RotationScratch {
 public:
  RotationScratch(kernels::Gpu& gpu, uint64_t bytes) : gpu_(&gpu), bytes_(bytes) {}
  vk::Buffer& buffer(uint32_t i) { return get(buffers_, i); }
  vk::Buffer& lora_buffer(uint32_t i) { return get(lora_buffers_, i); }
  vk::Buffer& product_buffer() { return get(product_buffers_, 0); }

 private:
  vk::Buffer& get(std::vector<std::unique_ptr<vk::Buffer>>& pool, uint32_t i);
  kernels::Gpu* gpu_;
  uint64_t bytes_;
  std::vector<std::unique_ptr<vk::Buffer>> buffers_, lora_buffers_, product_buffers_;
};

// Where one layer of a group writes: out rows at out_offset + t * out_stride; accumulate adds
// to what is there (with an output rotation, the rotated product is added: the residual add).
struct LinearTarget {
  std::string name;  // "wq", ... (op label)
  const quant::PackedLinear* linear = nullptr;
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
  // before their readers). fused_input (one token, after fuse_decode_input returned true): the
  // mat-vecs read the raw input and transform it themselves.
  void record(kernels::Recording& rec, uint32_t n, bool fused_input = false) const;
  // Sets up decode products that read row 0 of `raw` and apply `transform` (the RMSNorm weights
  // in `norm_weights`) and then their input rotation to it; false (and nothing set up) where a
  // product has LoRA factors or a kernel that cannot, or the input does not fit the kernel's range.
  bool fuse_decode_input(kernels::Gpu& gpu, const vk::Buffer& raw, const kernels::InputTransform& transform,
                         const vk::Buffer* norm_weights);
  // Whether some product reads a rotated copy of the input.
  bool rotates_input() const { return !inputs_.empty(); }
  uint64_t weight_bytes() const;

 private:
  struct RotatedInput {
    std::vector<uint32_t> signs;
    vk::Buffer* scratch;
    std::unique_ptr<kernels::Rotation> rotation;
  };
  // The LoRA products of one layer: u = A x' into `mid`, y' += (scale B) u.
  struct Lora {
    std::unique_ptr<kernels::GpuMatrix> a, scaled_b;
    std::unique_ptr<kernels::MatMul> down, up;
    uint32_t mid_stride = 0;
  };
  // One product: a layer, or several fused into one stacked matrix (never layers with LoRA).
  struct Layer {
    LinearTarget target;  // of the first fused layer; name joins all names
    std::unique_ptr<kernels::GpuMatrix> weight;
    std::unique_ptr<kernels::MatMul> matmul;
    std::unique_ptr<kernels::MatMul> fused_input_matmul;  // decode from the raw input (fuse_decode_input)
    std::unique_ptr<Lora> lora;
    int input = -1;  // index into inputs_ of its rotated input; -1: reads the input as is
    // Where the product lands: the target's rows, or (output rotation with accumulate) the same
    // rows of the product scratch, which the output rotation then adds to the target.
    const vk::Buffer* product = nullptr;
    bool product_accumulates = false;
  };
  std::unique_ptr<Lora> make_lora(kernels::Gpu& gpu, const LinearTarget& t, const vk::Buffer& in,
                                  const vk::Buffer& product, RotationScratch& scratch);
  void add_layer(kernels::Gpu& gpu, std::span<const LinearTarget> fused, RotationScratch& scratch);
  // Index into inputs_ of the rotated input `linear` reads (added on first use); -1 without rotation.
  int input_for(kernels::Gpu& gpu, const quant::PackedLinear& linear, RotationScratch& scratch);
  // Output rotations (inverse direction) of consecutive layers that write rows of one width at a
  // fixed distance into one buffer run as one dispatch of several parts.
  void add_output_rotations(kernels::Gpu& gpu);
  void record_output_rotations(kernels::Recording& rec, uint32_t n) const;

  const vk::Buffer* in_;
  uint32_t in_width_, in_stride_;
  std::vector<RotatedInput> inputs_;
  std::vector<Layer> layers_;
  struct OutputRotation {
    std::unique_ptr<kernels::Rotation> rotation;
    uint32_t offset, stride, part_stride;  // of the first part's rows; floats to the next part's
  };
  std::vector<OutputRotation> output_rotations_;
  uint32_t lora_layers_ = 0;
  kernels::InputTransform fused_transform_;
};

}  // namespace bitlens::model
