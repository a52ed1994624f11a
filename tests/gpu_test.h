// Shared fixture for GPU tests: one Gpu (with the validation layer on when BITLENS_VALIDATION=1)
// for the whole test binary, skipped only where no Vulkan device exists at all, and a check after
// every test that the validation layer stayed silent.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/gpu.h"

namespace bitlens::test {

// The shared Gpu, or null when no Vulkan device exists (then tests GTEST_SKIP).
kernels::Gpu* shared_gpu();

class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  kernels::Gpu& gpu() { return *gpu_; }
  vk::Context& ctx() { return gpu_->ctx(); }

 private:
  kernels::Gpu* gpu_ = nullptr;
};

// A poison word (a NaN pattern) written to outputs before a kernel runs, so unwritten
// elements fail comparisons.
inline constexpr uint32_t kPoison = 0x7fc0dead;

// Fresh random data: the seed comes from the test's name and a run counter, and is printed on
// failure through SCOPED_TRACE in the tests.
uint64_t fresh_seed();
std::vector<float> random_normal(size_t n, uint64_t seed, float stddev = 1.0f);
// n token ids uniform in [0, vocab).
std::vector<uint32_t> random_tokens(size_t n, uint32_t vocab, uint64_t seed);

}  // namespace bitlens::test
