// Generated low-bit weights for the kernel benchmarks.
#include "quant/lowbit_bench_weights.h"

#include <random>

#include "common/error.h"
#include "common/parallel.h"
#include "quant/lowbit.h"
#include "quant/ptq161_quant.h"
#include "quant/slim_quant.h"
#include "quant/ternary_quant.h"

namespace bitlens::quant {

PackedMatrix lowbit_bench_weights(Format format, uint32_t rows, uint32_t cols, uint64_t seed) {
  std::vector<float> w(size_t(rows) * cols);
  parallel_for(rows, [&](size_t r0, size_t r1) {
    std::mt19937_64 rng(seed * 7919 + r0);
    std::normal_distribution<float> nd(0.0f, 0.02f);
    for (size_t i = r0 * cols; i < r1 * cols; ++i) w[i] = nd(rng);
  });
  const uint32_t g = 64, groups = (cols + g - 1) / g;
  switch (format) {
    case Format::Mixed: {
      std::vector<uint8_t> bits(groups);
      for (uint32_t i = 0; i < groups; ++i) bits[i] = uint8_t(1 + (i + 1) % 3);
      return pack(quantize_mixed_rtn(w, rows, cols, g, bits));
    }
    case Format::Ptq161: {
      std::vector<float> magnitude(cols);
      std::mt19937_64 rng(seed);
      for (auto& m : magnitude) m = std::uniform_real_distribution<float>(0.0f, 1.0f)(rng);
      return pack(quantize_ptq161(w, rows, cols, magnitude, nullptr));
    }
    case Format::Ternary: return pack(quantize_ternary(w, rows, cols, g));
    case Format::TritPlane: return pack(quantize_tritplane(w, rows, cols, g));
    default: throw UnsupportedError("lowbit_bench_weights: " + std::string(format_info(format).name) + " is not a low-bit format");
  }
}

}  // namespace bitlens::quant
