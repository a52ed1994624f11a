// Upload of packed linear layers with their rotations, and the recording of a group.
#include "model/gpu_linear.h"

#include <algorithm>

#include "common/error.h"
#include "common/fp16.h"

namespace bitlens::model {

vk::Buffer& RotationScratch::get(std::vector<std::unique_ptr<vk::Buffer>>& pool, uint32_t i) {
  while (pool.size() <= i) pool.push_back(std::make_unique<vk::Buffer>(gpu_->ctx(), bytes_));
  return *pool[i];
}

namespace {

// Whether `next` can join the product of `prev` (see the file comment).
bool fusable(const LinearTarget& prev, const LinearTarget& next) {
  const quant::PackedLinear& a = *prev.linear;
  const quant::PackedLinear& b = *next.linear;
  return !a.rotation.output && !b.rotation.output && a.lora_rank == 0 && b.lora_rank == 0 &&
         a.rotation.input == b.rotation.input && (!a.rotation.input || a.rotation.input_signs == b.rotation.input_signs) &&
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
  add_output_rotations(gpu);
}

void GpuLinearGroup::add_output_rotations(kernels::Gpu& gpu) {
  auto rotated = [&](size_t i) { return i < layers_.size() && layers_[i].target.linear->rotation.output; };
  for (size_t i = 0; i < layers_.size();) {
    if (!rotated(i)) {
      ++i;
      continue;
    }
    const LinearTarget& t = layers_[i].target;
    const uint32_t width = t.linear->weight.layout.rows;
    // Extend the run while the next layer writes the next part at the same distance.
    size_t j = i + 1;
    uint32_t part_stride = 0;
    while (rotated(j)) {
      const LinearTarget& u = layers_[j].target;
      const uint32_t step = u.out_offset - layers_[j - 1].target.out_offset;
      const bool same = u.out == t.out && u.out_stride == t.out_stride && u.accumulate == t.accumulate &&
                        u.linear->weight.layout.rows == width &&
                        u.out_offset > layers_[j - 1].target.out_offset && (j == i + 1 || step == part_stride) &&
                        u.linear->rotation.output_signs.empty() == t.linear->rotation.output_signs.empty() &&
                        kernels::Rotation::parts_fit_row_kernel(width, uint32_t(j - i + 1));
      if (!same) break;
      part_stride = step;
      ++j;
    }
    std::vector<uint32_t> signs;
    for (size_t k = i; k < j; ++k) {
      const auto& s = layers_[k].target.linear->rotation.output_signs;
      signs.insert(signs.end(), s.begin(), s.end());
    }
    OutputRotation r{std::make_unique<kernels::Rotation>(gpu, width, signs, kernels::Rotation::Direction::Inverse,
                                                         uint32_t(j - i)),
                     t.out_offset, t.out_stride, part_stride};
    r.rotation->bind(*layers_[i].product, t.accumulate ? t.out : nullptr);
    output_rotations_.push_back(std::move(r));
    i = j;
  }
}

int GpuLinearGroup::input_for(kernels::Gpu& gpu, const quant::PackedLinear& pl, RotationScratch& scratch) {
  if (!pl.rotation.input) return -1;
  auto it = std::find_if(inputs_.begin(), inputs_.end(), [&](const RotatedInput& r) { return r.signs == pl.rotation.input_signs; });
  if (it != inputs_.end()) return int(it - inputs_.begin());
  RotatedInput r{pl.rotation.input_signs, &scratch.buffer(uint32_t(inputs_.size())),
                 std::make_unique<kernels::Rotation>(gpu, in_width_, pl.rotation.input_signs)};
  r.rotation->bind(*r.scratch);
  inputs_.push_back(std::move(r));
  return int(inputs_.size()) - 1;
}

void GpuLinearGroup::add_layer(kernels::Gpu& gpu, std::span<const LinearTarget> fused, RotationScratch& scratch) {
  std::vector<const quant::PackedMatrix*> parts;
  Layer layer;
  layer.target = fused[0];
  for (size_t i = 0; i < fused.size(); ++i) {
    const LinearTarget& t = fused[i];
    const quant::PackedLinear& pl = *t.linear;
    if (pl.weight.layout.cols != in_width_)
      throw Error(t.name + ": " + pl.weight.layout.describe() + " does not read rows of " + std::to_string(in_width_));
    if (i > 0) layer.target.name += "+" + t.name;
    parts.push_back(&pl.weight);
  }
  const quant::PackedLinear& first = *fused[0].linear;
  layer.weight = parts.size() == 1 ? std::make_unique<kernels::GpuMatrix>(gpu, first.weight)
                                   : std::make_unique<kernels::GpuMatrix>(gpu, quant::concat_rows(parts));
  layer.input = input_for(gpu, first, scratch);
  const vk::Buffer& in = layer.input < 0 ? *in_ : *inputs_[size_t(layer.input)].scratch;
  const bool via_scratch = first.rotation.output && fused[0].accumulate;
  layer.product = via_scratch ? &scratch.product_buffer() : fused[0].out;
  layer.product_accumulates = fused[0].accumulate && !via_scratch;
  layer.matmul = std::make_unique<kernels::MatMul>(gpu, *layer.weight, in, *layer.product);
  if (first.lora_rank > 0) layer.lora = make_lora(gpu, fused[0], in, *layer.product, scratch);
  layers_.push_back(std::move(layer));
}

std::unique_ptr<GpuLinearGroup::Lora> GpuLinearGroup::make_lora(kernels::Gpu& gpu, const LinearTarget& t,
                                                                const vk::Buffer& in, const vk::Buffer& product,
                                                                RotationScratch& scratch) {
  const quant::PackedLinear& pl = *t.linear;
  const uint32_t rank = pl.lora_rank, rows = pl.weight.layout.rows, cols = pl.weight.layout.cols;
  if (pl.lora_a.size() != size_t(rank) * cols || pl.lora_b.size() != size_t(rows) * rank)
    throw Error(t.name + ": LoRA factors do not match rank " + std::to_string(rank) + " and " +
                pl.weight.layout.describe());
  auto lora = std::make_unique<Lora>();
  lora->mid_stride = kernels::activation_stride(rank);
  if (lora->mid_stride > in_stride_)  // the scratch buffers hold max_batch rows of in_stride floats
    throw Error(t.name + ": LoRA rank " + std::to_string(rank) + " exceeds the input width");
  std::vector<float> a(pl.lora_a.size()), b(pl.lora_b.size());
  for (size_t i = 0; i < a.size(); ++i) a[i] = half_to_float(pl.lora_a[i]);
  for (size_t i = 0; i < b.size(); ++i) b[i] = pl.lora_scale * half_to_float(pl.lora_b[i]);
  lora->a = std::make_unique<kernels::GpuMatrix>(gpu, quant::pack_float(a, rank, cols, quant::Format::F32));
  lora->scaled_b = std::make_unique<kernels::GpuMatrix>(gpu, quant::pack_float(b, rows, rank, quant::Format::F32));
  const vk::Buffer& mid = scratch.lora_buffer(lora_layers_++);
  lora->down = std::make_unique<kernels::MatMul>(gpu, *lora->a, in, mid);
  lora->up = std::make_unique<kernels::MatMul>(gpu, *lora->scaled_b, mid, product);
  return lora;
}

bool GpuLinearGroup::fuse_decode_input(kernels::Gpu& gpu, const vk::Buffer& raw, const kernels::InputTransform& t,
                                       const vk::Buffer* norm_weights) {
  if (lora_layers_) return false;
  std::vector<std::unique_ptr<kernels::MatMul>> fused;
  const uint64_t need = (uint64_t(t.kind == kernels::InputTransform::Kind::SwiGlu ? t.offset : 0) + in_width_) * 4;
  for (const Layer& l : layers_) {
    const kernels::Rotation* rotation = l.input < 0 ? nullptr : inputs_[size_t(l.input)].rotation.get();
    auto mm = std::make_unique<kernels::MatMul>(gpu, *l.weight, raw, *l.product, kernels::MatMulTuning{}, norm_weights,
                                                rotation);
    if (!mm->transforms_input() || (rotation && !mm->rotates_input()) || mm->uniform_x_bytes() < need) return false;
    fused.push_back(std::move(mm));
  }
  for (size_t i = 0; i < layers_.size(); ++i) layers_[i].fused_input_matmul = std::move(fused[i]);
  fused_transform_ = t;
  return true;
}

void GpuLinearGroup::record(kernels::Recording& rec, uint32_t n, bool fused_input) const {
  if (fused_input) {
    if (n != 1 || layers_.empty() || !layers_[0].fused_input_matmul)
      throw Error("linear group: no fused decode input was set up");
    for (const Layer& l : layers_) {
      kernels::MatMulArgs args{1, 0, 0, l.target.out_offset, l.target.out_stride, l.product_accumulates};
      args.input = fused_transform_;
      rec.op(l.target.name, [&](vk::CommandBuffer& cmd) { l.fused_input_matmul->record(cmd, args); });
    }
    record_output_rotations(rec, n);
    return;
  }
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
  for (const Layer& l : layers_) {
    const kernels::MatMulArgs args{n, 0, in_stride_, l.target.out_offset, l.target.out_stride, l.product_accumulates};
    rec.op(l.target.name, [&](vk::CommandBuffer& cmd) { l.matmul->record(cmd, args); });
    if (l.lora)
      rec.op("lora", [&](vk::CommandBuffer& cmd) {
        l.lora->down->record(cmd, {n, 0, in_stride_, 0, l.lora->mid_stride, false});
      });
  }
  if (lora_layers_) {
    rec.barrier();
    for (const Layer& l : layers_)
      if (l.lora)
        rec.op("lora", [&](vk::CommandBuffer& cmd) {
          l.lora->up->record(cmd, {n, 0, l.lora->mid_stride, l.target.out_offset, l.target.out_stride, true});
        });
  }
  record_output_rotations(rec, n);
}

void GpuLinearGroup::record_output_rotations(kernels::Recording& rec, uint32_t n) const {
  if (output_rotations_.empty()) return;
  rec.barrier();
  for (const OutputRotation& r : output_rotations_)
    rec.op("rotate", [&](vk::CommandBuffer& cmd) { r.rotation->record(cmd, n, r.offset, r.stride, r.part_stride); });
}

uint64_t GpuLinearGroup::weight_bytes() const {
  uint64_t b = 0;
  for (const Layer& l : layers_) {
    b += l.weight->bytes();
    if (l.lora) b += l.lora->a->bytes() + l.lora->scaled_b->bytes();
  }
  return b;
}

}  // namespace bitlens::model
