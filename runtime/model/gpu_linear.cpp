// Upload of packed linear layers with their rotations, and the recording of a group.
#include "model/gpu_linear.h"

#include <algorithm>

#include "common/error.h"

namespace bitlens::model {

vk::Buffer& RotationScratch::buffer(uint32_t i) {
  while (buffers_.size() <= i) buffers_.push_back(std::make_unique<vk::Buffer>(gpu_->ctx(), bytes_));
  return *buffers_[i];
}

namespace {

// Whether `next` can join the product of `prev` (see the file comment).
bool fusable(const LinearTarget& prev, const LinearTarget& next) {
  const PackedLinear& a = *prev.linear;
  const PackedLinear& b = *next.linear;
  return !a.has_output_rotation && !b.has_output_rotation && a.lora_rank == 0 && b.lora_rank == 0 &&
         a.has_input_rotation == b.has_input_rotation && (!a.has_input_rotation || a.input_signs == b.input_signs) &&
         prev.out == next.out && prev.out_stride == next.out_stride && !prev.accumulate && !next.accumulate &&
         next.out_offset == prev.out_offset + a.weight.layout.rows && quant::can_concat_rows({&a.weight, &b.weight});
}

}  // namespace

GpuLinearGroup::GpuLinearGroup(kernels::Gpu& gpu, const vk::Buffer& in, uint32_t in_width, uint32_t in_stride,
                               const std::vector<LinearTarget>& targets, RotationScratch& scratch)
    : in_(&in), in_width_(in_width), in_stride_(in_stride) {
  for (size_t i = 0; i < targets.size();) {
    size_t j = i + 1;
    while (j < targets.size() && fusable(targets[j - 1], targets[j])) ++j;
    add_layer(gpu, std::span(targets).subspan(i, j - i), scratch);
    i = j;
  }
}

const vk::Buffer& GpuLinearGroup::input_for(kernels::Gpu& gpu, const PackedLinear& pl, RotationScratch& scratch) {
  if (!pl.has_input_rotation) return *in_;
  auto it = std::find_if(inputs_.begin(), inputs_.end(), [&](const RotatedInput& r) { return r.signs == pl.input_signs; });
  if (it != inputs_.end()) return *it->scratch;
  RotatedInput r{pl.input_signs, &scratch.buffer(uint32_t(inputs_.size())),
                 std::make_unique<kernels::Rotation>(gpu, in_width_, pl.input_signs)};
  r.rotation->bind(*r.scratch);
  inputs_.push_back(std::move(r));
  return *inputs_.back().scratch;
}

void GpuLinearGroup::add_layer(kernels::Gpu& gpu, std::span<const LinearTarget> fused, RotationScratch& scratch) {
  std::vector<const quant::PackedMatrix*> parts;
  Layer layer;
  layer.target = fused[0];
  for (size_t i = 0; i < fused.size(); ++i) {
    const LinearTarget& t = fused[i];
    const PackedLinear& pl = *t.linear;
    if (pl.weight.layout.cols != in_width_)
      throw Error(t.name + ": " + pl.weight.layout.describe() + " does not read rows of " + std::to_string(in_width_));
    if (pl.lora_rank > 0) throw UnsupportedError(t.name + ": LoRA factors are not run by the Vulkan forward pass yet");
    if (pl.has_output_rotation && t.accumulate)
      throw Error(t.name + ": an output rotation cannot accumulate into its output");
    if (i > 0) layer.target.name += "+" + t.name;
    parts.push_back(&pl.weight);
  }
  const PackedLinear& first = *fused[0].linear;
  layer.weight = parts.size() == 1 ? std::make_unique<kernels::GpuMatrix>(gpu, first.weight)
                                   : std::make_unique<kernels::GpuMatrix>(gpu, quant::concat_rows(parts));
  layer.matmul = std::make_unique<kernels::MatMul>(gpu, *layer.weight, input_for(gpu, first, scratch), *fused[0].out);
  if (first.has_output_rotation) {
    layer.output_rotation = std::make_unique<kernels::Rotation>(gpu, first.weight.layout.rows, first.output_signs,
                                                                 kernels::Rotation::Direction::Inverse);
    layer.output_rotation->bind(*fused[0].out);
  }
  layers_.push_back(std::move(layer));
}

void GpuLinearGroup::record(kernels::Recording& rec, uint32_t n) const {
  if (!inputs_.empty()) {
    const uint64_t bytes = (uint64_t(n - 1) * in_stride_ + in_width_) * 4;
    for (const RotatedInput& r : inputs_)
      rec.op("rotate", [&](vk::CommandBuffer& cmd) {
        cmd.copy(*in_, *r.scratch, bytes);
      });
    rec.barrier();
    for (const RotatedInput& r : inputs_)
      rec.op("rotate", [&](vk::CommandBuffer& cmd) { r.rotation->record(cmd, n, 0, in_stride_); });
    rec.barrier();
  }
  bool rotated_outputs = false;
  for (const Layer& l : layers_) {
    const kernels::MatMulArgs args{n, 0, in_stride_, l.target.out_offset, l.target.out_stride, l.target.accumulate};
    rec.op(l.target.name, [&](vk::CommandBuffer& cmd) { l.matmul->record(cmd, args); });
    rotated_outputs |= l.output_rotation != nullptr;
  }
  if (!rotated_outputs) return;
  rec.barrier();
  for (const Layer& l : layers_)
    if (l.output_rotation)
      rec.op("rotate", [&](vk::CommandBuffer& cmd) {
        l.output_rotation->record(cmd, n, l.target.out_offset, l.target.out_stride);
      });
}

uint64_t GpuLinearGroup::weight_bytes() const {
  uint64_t b = 0;
  for (const Layer& l : layers_) b += l.weight->bytes();
  return b;
}

}  // namespace bitlens::model
