// Upload of the sign vector and H_m, kernel choice, and dispatch of the rotation kernels.
#include "kernels/rotate.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "params/rotate.h"
#include "quant/hadamard.h"

namespace bitlens::kernels {

namespace {

constexpr uint32_t kMaxWidth = 8192;     // MAX_N of hadamard.comp (32 KiB of shared memory)
constexpr uint32_t kLocal = 256;         // hadamard.comp workgroup
constexpr uint32_t kRowLocal = 64;       // hadamard_rows.comp workgroup: 8 rows of 8 lanes
constexpr uint32_t kRowLanes = 8;
constexpr uint32_t kRowMaxWidth = 4096;  // wider rows compile for minutes on lavapipe: shared-memory kernel
constexpr uint32_t kMatvecMaxWidth = 1024;  // rotations inside mat-vecs: slots per lane (n / 8) unrolled
constexpr uint32_t kSignWords = 256;     // the Signs uniform block of hadamard_rows.comp
constexpr uint32_t kHadamardWords = 72;  // 36 rows x 2 words of specialization constants

// Row a of H_m (or of H_m^T) as 2 words of sign bits.
std::vector<uint32_t> hadamard_bits(uint32_t m, bool transpose) {
  const std::vector<int8_t> h = quant::hadamard_matrix(m);
  std::vector<uint32_t> rows(2 * m, 0);
  for (uint32_t a = 0; a < m; ++a)
    for (uint32_t b = 0; b < m; ++b)
      if ((transpose ? h[b * m + a] : h[a * m + b]) < 0) rows[2 * a + b / 32] |= 1u << (b % 32);
  return rows;
}

}  // namespace

bool Rotation::parts_fit_row_kernel(uint32_t n, uint32_t parts) {
  return uint64_t(parts) * ((n + 31) / 32) <= kSignWords;
}

Rotation::Rotation(Gpu& gpu, uint32_t n, const std::vector<uint32_t>& sign_bits, Direction direction, uint32_t parts)
    : gpu_(&gpu), n_(n), parts_(parts), direction_(direction) {
  if (parts == 0) throw Error("rotation of width " + std::to_string(n) + " for no parts");
  const quant::HadamardFactor f = quant::hadamard_factor(n);
  if (n > kMaxWidth || n * 4 > gpu.caps().max_shared_memory)
    throw UnsupportedError("Hadamard rotation of width " + std::to_string(n) + " exceeds the kernel's limit of " +
                           std::to_string(std::min<uint32_t>(kMaxWidth, gpu.caps().max_shared_memory / 4)));
  if (!sign_bits.empty() && sign_bits.size() != size_t(parts) * ((n + 31) / 32))
    throw Error("rotation of width " + std::to_string(n) + ": sign vectors have the wrong length for " +
                std::to_string(parts) + " part(s)");
  m_ = f.m;
  log2_p_ = f.log2_p;
  use_signs_ = !sign_bits.empty();
  const bool inverse = direction == Direction::Inverse;

  std::vector<uint32_t> signs = sign_bits;
  signs.resize(std::max<size_t>(kSignWords, signs.size()), 0);
  signs_ = vk::Buffer(gpu.ctx(), signs.size() * 4);
  signs_.upload(signs.data(), signs.size() * 4);
  const std::vector<uint32_t> hm = hadamard_bits(m_, inverse);
  hadamard_ = vk::Buffer(gpu.ctx(), hm.size() * 4);
  hadamard_.upload(hm.data(), hm.size() * 4);
  const auto storage = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
  kernel_ = &gpu.kernel("hadamard", {storage, storage, storage, storage}, sizeof(RotateParams), {kLocal});

  // The register kernel: CPU devices, 8-lane shuffles, p >= 8 W, and rows that fit in registers.
  const auto& caps = gpu.caps();
  const uint32_t p = 1u << log2_p_;
  const bool lanes_ok = caps.subgroup_shuffle && caps.subgroup_size >= kRowLanes && caps.subgroup_size <= kRowLocal;
  if (gpu.strategy() == Strategy::TilePerInvocation && lanes_ok && p >= 8 && n <= kRowMaxWidth &&
      parts_fit_row_kernel(n, parts)) {
    row_width_ = p >= 32 ? 4 : 1;
    std::vector<uint32_t> spec = {kRowLocal, n, m_, log2_p_ - 3 - (row_width_ == 4 ? 2 : 0), 0, 0, 0, 0};
    spec.insert(spec.end(), hm.begin(), hm.end());
    spec.resize(8 + kHadamardWords, 0);
    row_kernel_ = &gpu.kernel(row_width_ == 4 ? "hadamard_rows_v4" : "hadamard_rows_s",
                              {storage, VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER},
                              sizeof(RotateParams), spec);
  }
}

bool Rotation::uses_row_kernel(uint32_t offset, uint32_t stride) const {
  if (!row_kernel_ || x_view_floats_ == 0) return false;
  return offset % row_width_ == 0 && (stride == 0 ? n_ : stride) % row_width_ == 0;
}

bool Rotation::fits_matvec() const {
  return row_kernel_ && direction_ == Direction::Forward && parts_ == 1 && n_ <= kMatvecMaxWidth;
}

std::vector<uint32_t> Rotation::matvec_spec() const {
  std::vector<uint32_t> spec = {m_, log2_p_ - 3, n_, 0, 0};
  const std::vector<uint32_t> hm = hadamard_bits(m_, false);
  spec.insert(spec.end(), hm.begin(), hm.end());
  spec.resize(5 + kHadamardWords, 0);
  return spec;
}

void Rotation::bind(const vk::Buffer& x, const vk::Buffer* accumulate_into) {
  x_ = &x;
  dest_ = accumulate_into ? accumulate_into : &x;
  set_ = vk::DescriptorSet(gpu_->ctx(), *kernel_,
                           {vk::Binding::storage(x), vk::Binding::storage(signs_), vk::Binding::storage(hadamard_),
                            vk::Binding::storage(*dest_)});
  x_view_floats_ = 0;
  if (!row_kernel_) return;
  const uint64_t texel_bytes = row_width_ * 4;
  const uint64_t texels = std::min<uint64_t>(x.size() / texel_bytes, gpu_->caps().max_texel_elements);
  if (texels == 0) return;
  x_view_ = vk::BufferView(gpu_->ctx(), x, row_width_ == 4 ? VK_FORMAT_R32G32B32A32_SFLOAT : VK_FORMAT_R32_SFLOAT, 0,
                           texels * texel_bytes);
  x_view_floats_ = texels * row_width_;
  row_set_ = vk::DescriptorSet(gpu_->ctx(), *row_kernel_,
                               {vk::Binding::storage(*dest_), vk::Binding::texel(x_view_), vk::Binding::uniform(signs_)});
}

void Rotation::record(vk::CommandBuffer& cmd, uint32_t rows, uint32_t offset, uint32_t stride,
                      uint32_t part_stride) const {
  if (!x_) throw Error("Rotation::record called before bind()");
  if (stride == 0) stride = n_;
  if (stride < n_) throw Error("rotation: row stride is smaller than the row width");
  if (rows == 0) return;
  const uint64_t rows_span = uint64_t(rows - 1) * stride + n_;
  // Parts side by side inside each row, or one after another's rows.
  const uint64_t parts_span = uint64_t(parts_ - 1) * part_stride + n_;
  if (parts_ > 1 && (part_stride < n_ || (rows > 1 && parts_span > stride && part_stride < rows_span)))
    throw Error("rotation: the rows of its " + std::to_string(parts_) + " parts overlap");
  const uint64_t need = uint64_t(offset) + uint64_t(parts_ - 1) * part_stride + rows_span;
  if (need * 4 > std::min(x_->size(), dest_->size()))
    throw Error("rotation: the activation buffer is too small for " + std::to_string(rows) + " rows");
  RotateParams p{n_,
                 m_,
                 log2_p_,
                 rows,
                 offset,
                 stride,
                 float(1.0 / std::sqrt(double(n_))),
                 use_signs_ ? 1u : 0u,
                 direction_ == Direction::Inverse ? 1u : 0u,
                 part_stride,
                 use_signs_ ? (n_ + 31) / 32 : 0u,
                 dest_ != x_ ? 1u : 0u};
  if (uses_row_kernel(offset, stride) && part_stride % row_width_ == 0 && need <= x_view_floats_) {
    const uint32_t rows_per_group = kRowLocal / kRowLanes;
    cmd.dispatch(*row_kernel_, row_set_, p, (rows + rows_per_group - 1) / rows_per_group, parts_);
    return;
  }
  cmd.dispatch(*kernel_, set_, p, rows, parts_);
}

}  // namespace bitlens::kernels
