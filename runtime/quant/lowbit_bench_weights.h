// Packed low-bit matrices of N(0, 0.02) weights for kernel benchmarks, made by each format's own
// quantizer without calibration: mixed widths 1, 2, 3 in turn over groups of 64 (2 bits on
// average), ptq161 with 20% salient columns, ternary and trit-planes with groups of 64.
#pragma once

#include <cstdint>

#include "quant/packing.h"

namespace bitlens::quant {

PackedMatrix lowbit_bench_weights(Format format, uint32_t rows, uint32_t cols, uint64_t seed = 1);

}  // namespace bitlens::quant
