// Randomized Hadamard rotation of activation rows on the device (see quant/hadamard.h for the
// transform and its CPU reference).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/gpu.h"
#include "vk/buffer.h"
#include "vk/commands.h"

namespace bitlens::kernels {

class Rotation {
 public:
  // Width n (m * 2^k, m in {1, 12, 20, 28, 36}) and sign bits (empty: no random signs).
  Rotation(Gpu& gpu, uint32_t n, const std::vector<uint32_t>& sign_bits);
  uint32_t width() const { return n_; }

  // Binds the activation buffer that record() rotates in place.
  void bind(const vk::Buffer& x);
  // Rotates `rows` rows starting at float `offset`, `stride` floats apart (0 = n).
  void record(vk::CommandBuffer& cmd, uint32_t rows, uint32_t offset = 0, uint32_t stride = 0) const;

 private:
  Gpu* gpu_;
  uint32_t n_, m_, log2_p_;
  bool use_signs_;
  const vk::Kernel* kernel_;
  vk::Buffer signs_, hadamard_;
  const vk::Buffer* x_ = nullptr;
  vk::DescriptorSet set_;
};

}  // namespace bitlens::kernels
