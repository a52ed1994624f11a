// Loops over rows in parallel; per group: scale * sum(q x) - offset * sum(x). The inner sums are
// vectorized with OpenMP SIMD reductions (-fopenmp-simd: no OpenMP runtime).
#include "quant/cpu_matmul.h"

#include <algorithm>

#include "common/error.h"
#include "common/parallel.h"

namespace bitlens::quant {

void cpu_matmul(const QuantizedMatrix& m, std::span<const float> x, size_t batch, std::span<float> y) {
  if (x.size() < batch * m.cols || y.size() < batch * m.rows) throw Error("cpu_matmul: buffers too small");
  const uint32_t groups = m.groups();
  parallel_for(m.rows, [&](size_t r0, size_t r1) {
    for (size_t t = 0; t < batch; ++t) {
      const float* xt = &x[t * m.cols];
      for (size_t r = r0; r < r1; ++r) {
        const uint8_t* q = &m.codes[r * m.cols];
        float acc = 0.0f;
        for (uint32_t g = 0; g < groups; ++g) {
          const uint32_t c0 = g * m.group_size, c1 = std::min(m.cols, c0 + m.group_size);
          float sq = 0.0f, sx = 0.0f;
#pragma omp simd reduction(+ : sq, sx)
          for (uint32_t c = c0; c < c1; ++c) {
            sq += float(q[c]) * xt[c];
            sx += xt[c];
          }
          const QParams p = m.params(uint32_t(r), g);
          acc += p.scale * sq - p.offset * sx;
        }
        y[t * m.rows + r] = acc;
      }
    }
  }, 8);
}

void cpu_matmul(std::span<const float> w, size_t rows, size_t cols, std::span<const float> x, size_t batch,
                std::span<float> y) {
  if (w.size() < rows * cols || x.size() < batch * cols || y.size() < batch * rows)
    throw Error("cpu_matmul: buffers too small");
  parallel_for(rows, [&](size_t r0, size_t r1) {
    for (size_t t = 0; t < batch; ++t)
      for (size_t r = r0; r < r1; ++r) {
        const float* wr = &w[r * cols];
        const float* xt = &x[t * cols];
        float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
        for (size_t c = 0; c < cols; ++c) acc += wr[c] * xt[c];
        y[t * rows + r] = acc;
      }
  }, 8);
}

}  // namespace bitlens::quant
