// The inverse randomized Hadamard rotation of activation rows on the device,
// x <- S H_n^T x / sqrt(n) (quant::rotate_inverse), as PackedLinear's output rotation needs it.
// Until hadamard.comp has an inverse mode it runs as two dispatches: the forward kernel with the
// transposed H_m and no signs (H_n^T = H_m^T (x) H_{2^k}, the Sylvester factor being symmetric),
// then shaders/signs.comp.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/gpu.h"
#include "vk/buffer.h"
#include "vk/commands.h"

namespace bitlens::kernels {

class InverseRotation {
 public:
  // Width n (m * 2^k, m in {1, 12, 20, 28, 36}) and sign bits (empty: no random signs).
  InverseRotation(Gpu& gpu, uint32_t n, const std::vector<uint32_t>& sign_bits);
  uint32_t width() const { return n_; }

  // Binds the activation buffer that record() rotates in place.
  void bind(const vk::Buffer& x);
  // Rotates `rows` rows starting at float `offset`, `stride` floats apart (0 = n); records a
  // barrier between its two dispatches.
  void record(vk::CommandBuffer& cmd, uint32_t rows, uint32_t offset = 0, uint32_t stride = 0) const;

 private:
  Gpu* gpu_;
  uint32_t n_, m_, log2_p_;
  bool use_signs_;
  const vk::Kernel* hadamard_;
  const vk::Kernel* signs_kernel_;
  vk::Buffer signs_, no_signs_, hadamard_t_;
  const vk::Buffer* x_ = nullptr;
  vk::DescriptorSet hadamard_set_, signs_set_;
};

}  // namespace bitlens::kernels
