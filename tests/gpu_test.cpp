// The shared Gpu, the missing-device check, and the strategy reset and validation check after
// each GPU test.
#include "gpu_test.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "common/error.h"

namespace bitlens::test {

namespace {

std::string g_no_device_reason;  // why the shared Gpu could not be made

// Skips, or fails under BITLENS_REQUIRE_DEVICE=1 (a void function: GTEST_SKIP and FAIL return).
void record_missing_device() {
  const char* env = std::getenv("BITLENS_REQUIRE_DEVICE");
  const std::string require = env ? env : "";
  if (require == "1")
    FAIL() << "no Vulkan device (" << g_no_device_reason << "), and BITLENS_REQUIRE_DEVICE=1 requires one";
  if (!require.empty() && require != "0")
    FAIL() << "BITLENS_REQUIRE_DEVICE=" << require << " must be 1 (fail without a Vulkan device) or 0";
  GTEST_SKIP() << "no Vulkan device (" << g_no_device_reason << ")";
}

}  // namespace

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
      g_no_device_reason = e.what();
      std::fprintf(stderr, "[bitlens] no usable Vulkan device: %s\n", e.what());
    }
  }
  return gpu.get();
}

bool missing_device() {
  if (shared_gpu()) return false;
  record_missing_device();
  return true;
}

void GpuTest::SetUp() {
  if (missing_device()) return;
  gpu_ = shared_gpu();
  strategy_ = gpu_->strategy();
  gpu_->ctx().clear_validation_messages();
}

void GpuTest::TearDown() {
  if (!gpu_) return;
  gpu_->set_strategy(strategy_);
  for (const auto& m : gpu_->ctx().validation_messages()) ADD_FAILURE() << "validation layer: " << m;
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
