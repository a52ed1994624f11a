// Calibration capture: runs token sequences through the fp32 CPU forward pass and accumulates the
// inputs of every block linear into ModelStats (one statistic per input site and block).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "calib/model_stats.h"
#include "model/cpu_forward.h"

namespace bitlens::calib {

// Each sequence is prefilled from position 0 (the cache is reset before it); progress(done, total)
// after each sequence. The forward's observer is restored to none afterwards.
void capture(model::CpuForward& forward, std::span<const std::vector<uint32_t>> sequences, ModelStats& stats,
             const std::function<void(size_t, size_t)>& progress = {});

// Consecutive slices of `tokens` of at most `length` tokens, BOS first, at most `max_tokens`
// tokens in all (the calibration set).
std::vector<std::vector<uint32_t>> calibration_sequences(std::span<const uint32_t> tokens, uint32_t bos,
                                                         uint32_t length, uint64_t max_tokens);

}  // namespace bitlens::calib
