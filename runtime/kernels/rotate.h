// Randomized Hadamard rotation of activation rows on the device, forward or inverse (see
// quant/hadamard.h for the transforms and their CPU references: rotate, rotate_inverse).
//
// Two kernels: on CPU devices (Strategy::TilePerInvocation) eight lanes rotate a row in registers
// (hadamard_rows.comp), when the width allows it (the power-of-two factor at least 8); otherwise
// one workgroup per row through shared memory (hadamard.comp), which is the GPU kernel.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/gpu.h"
#include "vk/buffer.h"
#include "vk/commands.h"

namespace bitlens::kernels {

class Rotation {
 public:
  enum class Direction { Forward, Inverse };  // x <- H S x / sqrt(n), or x <- S H^T x / sqrt(n)

  // Width n (m * 2^k, m in {1, 12, 20, 28, 36}) and sign bits (empty: no random signs). With
  // several parts, sign_bits holds one sign vector of ceil(n / 32) words per part, and record()
  // rotates the rows of part j found j * part_stride floats after those of part 0 with the j-th.
  Rotation(Gpu& gpu, uint32_t n, const std::vector<uint32_t>& sign_bits, Direction direction = Direction::Forward,
           uint32_t parts = 1);
  uint32_t width() const { return n_; }
  uint32_t parts() const { return parts_; }
  // Whether `parts` sign vectors of width n fit the register kernel's sign block (more parts use
  // the shared-memory kernel).
  static bool parts_fit_row_kernel(uint32_t n, uint32_t parts);
  Direction direction() const { return direction_; }
  // True when record() runs the register kernel for rows at this offset and stride (after bind()).
  bool uses_row_kernel(uint32_t offset, uint32_t stride) const;
  // Whether a mat-vec can apply this rotation to its own input (matvec.comp X_ROTATE: forward, a
  // CPU device, one element per lane slot, a width that compiles quickly), and what it then needs:
  // the specialization constants M, log2(2^k / 8), n, 0, 0 and H_m's 72 words (ids 3..79) and the
  // sign words as a uniform buffer.
  bool fits_matvec() const;
  std::vector<uint32_t> matvec_spec() const;
  const vk::Buffer& sign_words() const { return signs_; }

  // Binds the activation buffer that record() rotates in place or, with `accumulate_into`, whose
  // rotated rows record() adds to the same rows of that buffer (x is left as it is).
  void bind(const vk::Buffer& x, const vk::Buffer* accumulate_into = nullptr);
  // Rotates `rows` rows starting at float `offset`, `stride` floats apart (0 = n), in every part.
  void record(vk::CommandBuffer& cmd, uint32_t rows, uint32_t offset = 0, uint32_t stride = 0,
              uint32_t part_stride = 0) const;

 private:
  Gpu* gpu_;
  uint32_t n_, m_, log2_p_, parts_;
  Direction direction_;
  bool use_signs_;
  uint32_t row_width_ = 0;  // elements per slot of the register kernel (4 or 1); 0: not used
  const vk::Kernel* kernel_ = nullptr;
  const vk::Kernel* row_kernel_ = nullptr;
  vk::Buffer signs_, sign_words_, hadamard_;
  const vk::Buffer* x_ = nullptr;
  const vk::Buffer* dest_ = nullptr;  // x_ (in place) or the buffer accumulated into
  vk::BufferView x_view_;
  uint64_t x_view_floats_ = 0;
  vk::DescriptorSet set_, row_set_;
};

}  // namespace bitlens::kernels
