// Shared fixture for GPU tests: one Gpu (with the validation layer on when BITLENS_VALIDATION=1)
// for the whole test binary, skipped only where no Vulkan device exists at all (a failure instead
// under BITLENS_REQUIRE_DEVICE=1), the kernel strategy put back after every test, and a check after
// every test that the validation layer stayed silent.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/gpu.h"
#include "seeds.h"

namespace bitlens::test {

// The shared Gpu, or null when no Vulkan device exists (then tests call missing_device()).
kernels::Gpu* shared_gpu();

// True when no Vulkan device exists, after recording that in the running test: a skip, or a
// failure when BITLENS_REQUIRE_DEVICE=1 (set by .ci/run, where a missing device is a broken setup
// and must not pass as half the suite skipped). The caller stops at once:
//   if (test::missing_device()) return;
// Only for a missing device: a device without a feature a test needs is still a skip.
[[nodiscard]] bool missing_device();

// Tests may change the shared Gpu's strategy (set_strategy); TearDown puts it back, whether the
// test passed or not.
class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  kernels::Gpu& gpu() { return *gpu_; }
  vk::Context& ctx() { return gpu_->ctx(); }

 private:
  kernels::Gpu* gpu_ = nullptr;
  kernels::Strategy strategy_ = kernels::Strategy::TilePerInvocation;
};

// A poison word (a NaN pattern) written to outputs before a kernel runs, so unwritten
// elements fail comparisons.
inline constexpr uint32_t kPoison = 0x7fc0dead;

// Random data from a seed (from fresh_seed(), seeds.h).
std::vector<float> random_normal(size_t n, uint64_t seed, float stddev = 1.0f);
// n token ids uniform in [0, vocab).
std::vector<uint32_t> random_tokens(size_t n, uint32_t vocab, uint64_t seed);

}  // namespace bitlens::test
