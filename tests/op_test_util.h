// Small helpers shared by the tests of the forward-pass kernels: poisoned device buffers, float
// transfers, and the step buffer that carries the position of a replayed recording.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "gpu_test.h"
#include "params/step.h"
#include "vk/buffer.h"

namespace bitlens::test {

// A device buffer of `floats` floats, every word set to kPoison.
inline vk::Buffer poisoned_buffer(vk::Context& ctx, size_t floats) {
  vk::Buffer b(ctx, floats * 4);
  b.fill(kPoison);
  return b;
}

inline std::vector<float> download_floats(const vk::Buffer& b) {
  std::vector<float> v(b.size() / 4);
  b.download(v.data(), v.size() * 4);
  return v;
}

inline bool is_poison(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  return bits == kPoison;
}

// A step buffer holding position pos0.
inline vk::Buffer step_buffer(vk::Context& ctx, uint32_t pos0) {
  vk::Buffer b(ctx, 16);
  const kernels::StepState s{pos0};
  b.upload(&s, sizeof(s));
  return b;
}

}  // namespace bitlens::test
