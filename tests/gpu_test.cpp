// The shared Gpu and the validation check after each GPU test.
#include "gpu_test.h"

#include <chrono>
#include <cstdio>
#include <memory>

#include "common/error.h"

namespace bitlens::test {

kernels::Gpu* shared_gpu() {
  static std::unique_ptr<kernels::Gpu> gpu;
  static bool tried = false;
  if (!tried) {
    tried = true;
    try {
      gpu = std::make_unique<kernels::Gpu>();
      std::fprintf(stderr, "[bitlens] %s, validation %s\n", gpu->ctx().describe().c_str(),
                   gpu->ctx().validation_enabled() ? "on" : "off");
    } catch (const Error& e) {
      std::fprintf(stderr, "[bitlens] no usable Vulkan device: %s\n", e.what());
    }
  }
  return gpu.get();
}

void GpuTest::SetUp() {
  gpu_ = shared_gpu();
  if (!gpu_) GTEST_SKIP() << "no Vulkan device";
  gpu_->ctx().clear_validation_messages();
}

void GpuTest::TearDown() {
  if (!gpu_) return;
  for (const auto& m : gpu_->ctx().validation_messages()) ADD_FAILURE() << "validation layer: " << m;
}

uint64_t fresh_seed() {
  static uint64_t counter = 0;
  return uint64_t(std::chrono::steady_clock::now().time_since_epoch().count()) ^ (++counter * 0x9e3779b97f4a7c15ull);
}

std::vector<float> random_normal(size_t n, uint64_t seed, float stddev) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, stddev);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

std::vector<uint32_t> random_tokens(size_t n, uint32_t vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> t(n);
  for (auto& v : t) v = uint32_t(rng() % vocab);
  return t;
}

}  // namespace bitlens::test
