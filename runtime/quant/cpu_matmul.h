// Plain multi-threaded CPU matrix products (y[t] = W x[t]) on the logical formats: the CPU side of
// the kernel benchmarks, and a straightforward reference for small checks.
#pragma once

#include <cstddef>
#include <span>

#include "quant/group_quant.h"

namespace bitlens::quant {

// x: batch rows of m.cols floats; y: batch rows of m.rows floats.
void cpu_matmul(const QuantizedMatrix& m, std::span<const float> x, size_t batch, std::span<float> y);
// Row-major float weights [rows x cols].
void cpu_matmul(std::span<const float> w, size_t rows, size_t cols, std::span<const float> x, size_t batch,
                std::span<float> y);

}  // namespace bitlens::quant
