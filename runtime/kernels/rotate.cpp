// Upload of the sign vector and H_m, and dispatch of the rotation kernel.
#include "kernels/rotate.h"

#include <cmath>

#include "common/error.h"
#include "params/rotate.h"
#include "quant/hadamard.h"

namespace bitlens::kernels {

namespace {
constexpr uint32_t kMaxWidth = 8192;  // MAX_N of hadamard.comp (32 KiB of shared memory)
constexpr uint32_t kLocal = 64;
}  // namespace

Rotation::Rotation(Gpu& gpu, uint32_t n, const std::vector<uint32_t>& sign_bits) : gpu_(&gpu), n_(n) {
  const quant::HadamardFactor f = quant::hadamard_factor(n);
  if (n > kMaxWidth || n * 4 > gpu.caps().max_shared_memory)
    throw UnsupportedError("Hadamard rotation of width " + std::to_string(n) + " exceeds the kernel's limit of " +
                           std::to_string(std::min<uint32_t>(kMaxWidth, gpu.caps().max_shared_memory / 4)));
  if (!sign_bits.empty() && sign_bits.size() != (n + 31) / 32)
    throw Error("rotation of width " + std::to_string(n) + ": sign vector has the wrong length");
  m_ = f.m;
  log2_p_ = f.log2_p;
  use_signs_ = !sign_bits.empty();
  std::vector<uint32_t> signs = sign_bits;
  if (signs.empty()) signs.assign((n + 31) / 32, 0);
  signs_ = vk::Buffer(gpu.ctx(), signs.size() * 4);
  signs_.upload(signs.data(), signs.size() * 4);
  const std::vector<int8_t> h = quant::hadamard_matrix(m_);
  std::vector<uint32_t> rows(2 * m_, 0);
  for (uint32_t a = 0; a < m_; ++a)
    for (uint32_t b = 0; b < m_; ++b)
      if (h[a * m_ + b] < 0) rows[2 * a + b / 32] |= 1u << (b % 32);
  hadamard_ = vk::Buffer(gpu.ctx(), rows.size() * 4);
  hadamard_.upload(rows.data(), rows.size() * 4);
  const auto storage = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
  kernel_ = &gpu.kernel("hadamard", {storage, storage, storage}, sizeof(RotateParams), {kLocal});
}

void Rotation::bind(const vk::Buffer& x) {
  x_ = &x;
  set_ = vk::DescriptorSet(gpu_->ctx(), *kernel_,
                           {vk::Binding::storage(x), vk::Binding::storage(signs_), vk::Binding::storage(hadamard_)});
}

void Rotation::record(vk::CommandBuffer& cmd, uint32_t rows, uint32_t offset, uint32_t stride) const {
  if (!x_) throw Error("Rotation::record called before bind()");
  if (stride == 0) stride = n_;
  if (stride < n_) throw Error("rotation: row stride is smaller than the row width");
  if (rows == 0) return;
  const uint64_t need = (uint64_t(offset) + uint64_t(rows - 1) * stride + n_) * 4;
  if (need > x_->size()) throw Error("rotation: the activation buffer is too small for " + std::to_string(rows) + " rows");
  RotateParams p{n_, m_, log2_p_, rows, offset, stride, float(1.0 / std::sqrt(double(n_))), use_signs_ ? 1u : 0u};
  cmd.dispatch(*kernel_, set_, p, rows);
}

}  // namespace bitlens::kernels
