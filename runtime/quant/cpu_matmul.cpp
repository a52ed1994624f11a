// Loops over rows in parallel; per group: scale * sum(q x) - offset * sum(x). The inner sums are
// vectorized with OpenMP SIMD reductions (-fopenmp-simd: no OpenMP runtime).
#include "quant/cpu_matmul.h"

#include <algorithm>

#include "common/error.h"
#include "common/parallel.h"

namespace bitlens::quant {

namespace {

// out[i] = w[i] . x for four rows at once: each load of x serves four rows, and the four
// independent sums hide the latency of the multiply-adds.
inline void dot4(const float* const w[4], const float* x, size_t n, float out[4]) {
  const float *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3];
  float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
#pragma omp simd reduction(+ : a0, a1, a2, a3)
  for (size_t c = 0; c < n; ++c) {
    const float xc = x[c];
    a0 += w0[c] * xc;
    a1 += w1[c] * xc;
    a2 += w2[c] * xc;
    a3 += w3[c] * xc;
  }
  out[0] = a0;
  out[1] = a1;
  out[2] = a2;
  out[3] = a3;
}

}  // namespace

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
  // Tiles of kTile rows stay in cache while every x[t] passes over them. Rows are always taken four
  // at a time (the last group repeats its final row), so each output is computed by the same code
  // whatever the thread count or batch size: results do not depend on how the work is split.
  constexpr size_t kTile = 32;
  const size_t tiles = (rows + kTile - 1) / kTile;
  parallel_for(tiles, [&](size_t t0, size_t t1) {
    for (size_t r0 = t0 * kTile; r0 < std::min(rows, t1 * kTile); r0 += kTile) {
      const size_t r1 = std::min(rows, r0 + kTile);
      for (size_t t = 0; t < batch; ++t) {
        const float* xt = &x[t * cols];
        float* yt = &y[t * rows];
        for (size_t r = r0; r < r1; r += 4) {
          const float* wr[4];
          for (size_t i = 0; i < 4; ++i) wr[i] = &w[std::min(r + i, r1 - 1) * cols];
          float out[4];
          dot4(wr, xt, cols, out);
          for (size_t i = 0; i < 4 && r + i < r1; ++i) yt[r + i] = out[i];
        }
      }
    }
  });
}

}  // namespace bitlens::quant
