// Generated low-bit weights for the kernel benchmarks.
#include "quant/lowbit_bench_weights.h"

#include <random>

#include "common/error.h"
#include "common/parallel.h"
#include "quant/lowbit.h"

namespace bitlens::quant {

PackedMatrix lowbit_bench_weights(Format format, uint32_t rows, uint32_t cols, uint64_t seed) {
  std::vector<float> w(size_t(rows) * cols);
  parallel_for(rows, [&](size_t r0, size_t r1) {
    std::mt19937_64 rng(seed * 7919 + r0);
    std::normal_distribution<float> nd(0.0f, 0.02f);
    for (size_t i = r0 * cols; i < r1 * cols; ++i) w[i] = nd(rng);
  });
  const LowBitFormat* f = format_info(format).lowbit;
  if (!f) throw UnsupportedError("lowbit_bench_weights: " + std::string(format_info(format).name) + " is not a low-bit format");
  return f->bench_weights(w, rows, cols, seed);
}

}  // namespace bitlens::quant
