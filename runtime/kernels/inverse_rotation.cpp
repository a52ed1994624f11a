// Upload of H_m^T and the signs, and the two dispatches of the inverse rotation.
#include "kernels/inverse_rotation.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"
#include "params/rotate.h"
#include "quant/hadamard.h"

namespace bitlens::kernels {

namespace {
constexpr uint32_t kMaxWidth = 8192;  // MAX_N of hadamard.comp
constexpr uint32_t kHadamardLocal = 64;
}  // namespace

InverseRotation::InverseRotation(Gpu& gpu, uint32_t n, const std::vector<uint32_t>& sign_bits) : gpu_(&gpu), n_(n) {
  const quant::HadamardFactor f = quant::hadamard_factor(n);
  if (n > kMaxWidth || n * 4 > gpu.caps().max_shared_memory)
    throw UnsupportedError("inverse Hadamard rotation of width " + std::to_string(n) + " exceeds the kernel's limit of " +
                           std::to_string(std::min<uint32_t>(kMaxWidth, gpu.caps().max_shared_memory / 4)));
  if (!sign_bits.empty() && sign_bits.size() != (n + 31) / 32)
    throw Error("inverse rotation of width " + std::to_string(n) + ": sign vector has the wrong length");
  m_ = f.m;
  log2_p_ = f.log2_p;
  use_signs_ = !sign_bits.empty();
  const std::vector<uint32_t> zeros((n + 31) / 32, 0);
  signs_ = vk::Buffer(gpu.ctx(), zeros.size() * 4);
  signs_.upload(use_signs_ ? sign_bits.data() : zeros.data(), zeros.size() * 4);
  no_signs_ = vk::Buffer(gpu.ctx(), zeros.size() * 4);
  no_signs_.upload(zeros.data(), zeros.size() * 4);
  // Row a of H_m^T is column a of H_m, as sign bits (bit b set: entry -1).
  const std::vector<int8_t> h = quant::hadamard_matrix(m_);
  std::vector<uint32_t> rows(2 * m_, 0);
  for (uint32_t a = 0; a < m_; ++a)
    for (uint32_t b = 0; b < m_; ++b)
      if (h[b * m_ + a] < 0) rows[2 * a + b / 32] |= 1u << (b % 32);
  hadamard_t_ = vk::Buffer(gpu.ctx(), rows.size() * 4);
  hadamard_t_.upload(rows.data(), rows.size() * 4);
  const auto storage = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
  hadamard_ = &gpu.kernel("hadamard", {storage, storage, storage}, sizeof(RotateParams), {kHadamardLocal});
  signs_kernel_ = &gpu.kernel("signs", {storage, storage}, sizeof(RotateParams));
}

void InverseRotation::bind(const vk::Buffer& x) {
  x_ = &x;
  hadamard_set_ = vk::DescriptorSet(gpu_->ctx(), *hadamard_,
                                    {vk::Binding::storage(x), vk::Binding::storage(no_signs_),
                                     vk::Binding::storage(hadamard_t_)});
  signs_set_ = vk::DescriptorSet(gpu_->ctx(), *signs_kernel_, {vk::Binding::storage(x), vk::Binding::storage(signs_)});
}

void InverseRotation::record(vk::CommandBuffer& cmd, uint32_t rows, uint32_t offset, uint32_t stride) const {
  if (!x_) throw Error("InverseRotation::record called before bind()");
  if (stride == 0) stride = n_;
  if (stride < n_) throw Error("inverse rotation: row stride is smaller than the row width");
  if (rows == 0) return;
  const uint64_t need = (uint64_t(offset) + uint64_t(rows - 1) * stride + n_) * 4;
  if (need > x_->size())
    throw Error("inverse rotation: the activation buffer is too small for " + std::to_string(rows) + " rows");
  const RotateParams p{n_, m_, log2_p_, rows, offset, stride, float(1.0 / std::sqrt(double(n_))), 0u};
  cmd.dispatch(*hadamard_, hadamard_set_, p, rows);
  if (!use_signs_) return;
  cmd.barrier();
  cmd.dispatch(*signs_kernel_, signs_set_, p, (n_ + 63) / 64, rows);
}

}  // namespace bitlens::kernels
