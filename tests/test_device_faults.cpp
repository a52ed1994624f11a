// Device faults give one clear error and leave the process able to go on: a device-memory budget
// (BITLENS_DEVICE_MEMORY_LIMIT) and allocations the device cannot make, the driver's
// out-of-memory and device loss (injected with BITLENS_FAULT), a missing Vulkan driver, and no
// device matching BITLENS_DEVICE. Each context the tests make keeps the validation layer silent.
#include <gtest/gtest.h>

#include <string>

#include "common/byte_size.h"
#include "common/error.h"
#include "gpu_test.h"
#include "scoped_env.h"
#include "vk/buffer.h"
#include "vk/check.h"
#include "vk/context.h"

using namespace bitlens;

namespace {

// Runs fn, expecting an exception of type E whose message contains every one of `parts`.
template <class E, class Fn>
std::string expect_error(Fn fn, std::initializer_list<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "no error";
  } catch (const E& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
    return msg;
  }
  return {};
}

// A context of its own on the device the suite uses, with `options` changed as a test needs.
class DeviceFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::missing_device()) return;
  }
  static vk::ContextOptions options() {
    vk::ContextOptions o = vk::ContextOptions::from_env();
    o.pipeline_cache = false;
    return o;
  }
  static void expect_silent(const vk::Context& ctx) {
    for (const auto& m : ctx.validation_messages()) ADD_FAILURE() << "validation layer: " << m;
  }
};

}  // namespace

TEST(ByteSize, ParsesCountsWithUnits) {
  EXPECT_EQ(parse_byte_size("512", "X"), 512u);
  EXPECT_EQ(parse_byte_size("64MiB", "X"), 64u << 20);
  EXPECT_EQ(parse_byte_size("64 mb", "X"), 64u << 20);
  EXPECT_EQ(parse_byte_size("1.5GiB", "X"), 3ull << 29);
  EXPECT_EQ(parse_byte_size("2G", "X"), 2ull << 30);
  EXPECT_EQ(parse_byte_size("3k", "X"), 3072u);
  EXPECT_EQ(parse_byte_size("1TiB", "X"), 1ull << 40);
  for (const char* bad : {"", "MiB", "-1", "1.2.3", "5 parsecs", "1e3", "99999999999999999999999TiB"})
    expect_error<Error>([&] { parse_byte_size(bad, "LIMIT"); }, {"LIMIT=", "is not a byte count"});
}

TEST(ByteSize, FormatsForMessages) {
  EXPECT_EQ(format_bytes(1), "1 byte");
  EXPECT_EQ(format_bytes(812), "812 bytes");
  EXPECT_EQ(format_bytes(3 << 20), "3.00 MiB");
  EXPECT_EQ(format_bytes(768 << 10), "768.0 KiB");
  EXPECT_EQ(format_bytes(3ull << 29), "1.50 GiB");
}

TEST(DeviceFaultOptions, ReadFromTheEnvironment) {
  {
    const test::ScopedEnv limit("BITLENS_DEVICE_MEMORY_LIMIT", "3MiB");
    const test::ScopedEnv fault("BITLENS_FAULT", "device_lost:7");
    const vk::ContextOptions o = vk::ContextOptions::from_env();
    EXPECT_EQ(o.memory_limit, 3u << 20);
    EXPECT_EQ(o.fault.kind, vk::FaultInjection::Kind::DeviceLost);
    EXPECT_EQ(o.fault.after, 7u);
  }
  {
    const test::ScopedEnv limit("BITLENS_DEVICE_MEMORY_LIMIT", "lots");
    expect_error<Error>([] { vk::ContextOptions::from_env(); }, {"BITLENS_DEVICE_MEMORY_LIMIT=lots"});
  }
  EXPECT_EQ(vk::FaultInjection::parse("out_of_device_memory").kind, vk::FaultInjection::Kind::OutOfDeviceMemory);
  EXPECT_EQ(vk::FaultInjection::parse("out_of_device_memory").after, 0u);
  EXPECT_EQ(vk::FaultInjection::parse("").kind, vk::FaultInjection::Kind::None);
  for (const char* bad : {"meteor", "device_lost:", "device_lost:x", "device_lost:-1"})
    expect_error<Error>([&] { vk::FaultInjection::parse(bad); }, {"BITLENS_FAULT="});
}

TEST_F(DeviceFaults, AllocationsOverTheBudgetAreOutOfMemory) {
  vk::ContextOptions o = options();
  o.memory_limit = 1 << 20;
  vk::Context ctx(o);
  {
    vk::Buffer first(ctx, 512 << 10);
    EXPECT_EQ(ctx.memory_in_use(), 512u << 10);
    expect_error<vk::OutOfMemoryError>([&] { vk::Buffer(ctx, 768 << 10, vk::MemoryKind::Device, "the KV cache"); },
                                       {"out of device memory: the KV cache of 768.0 KiB does not fit",
                                        "limit of 1.00 MiB (BITLENS_DEVICE_MEMORY_LIMIT)", "512.0 KiB is in use"});
    EXPECT_EQ(ctx.memory_in_use(), 512u << 10);  // the refused allocation holds nothing
    expect_error<vk::OutOfMemoryError>([&] { vk::Buffer(ctx, 2 << 20); }, {"a device buffer of 2.00 MiB"});
  }
  EXPECT_EQ(ctx.memory_in_use(), 0u);
  vk::Buffer after(ctx, 768 << 10);  // fits once the first is gone
  after.fill(7);
  uint32_t word = 0;
  after.download(&word, 4);
  EXPECT_EQ(word, 7u);
  expect_silent(ctx);
}

TEST_F(DeviceFaults, AnAllocationLargerThanTheDeviceAllowsIsOutOfMemory) {
  vk::Context ctx(options());
  const uint64_t max = ctx.caps().max_allocation;
  if (max == 0 || max >= (uint64_t(1) << 62)) GTEST_SKIP() << "the device reports no allocation limit";
  expect_error<vk::OutOfMemoryError>([&] { vk::Buffer(ctx, max + 4096); },
                                     {"out of device memory", "larger than the largest single allocation",
                                      format_bytes(max)});
  EXPECT_EQ(ctx.memory_in_use(), 0u);
  expect_silent(ctx);
}

TEST_F(DeviceFaults, DriverOutOfMemoryNamesTheAllocation) {
  vk::ContextOptions o = options();
  o.fault = vk::FaultInjection::parse("out_of_device_memory:1");
  vk::Context ctx(o);
  vk::Buffer first(ctx, 4096);
  expect_error<vk::OutOfMemoryError>(
      [&] { vk::Buffer(ctx, 3 << 20, vk::MemoryKind::Device, "layer 3's weights"); },
      {"out of device memory: ", "could not allocate layer 3's weights of 3.00 MiB",
       "VK_ERROR_OUT_OF_DEVICE_MEMORY, injected by BITLENS_FAULT=out_of_device_memory:1", "bitlens holds 4.00 KiB",
       "does not fit"});
  EXPECT_EQ(ctx.memory_in_use(), 4096u);
  expect_silent(ctx);
}

TEST_F(DeviceFaults, DeviceLossIsReportedOnEverySubmissionAfterIt) {
  vk::ContextOptions o = options();
  o.fault = vk::FaultInjection::parse("device_lost:1");
  vk::Context ctx(o);
  vk::Buffer b(ctx, 4096);
  b.fill(1);  // the one submission that succeeds
  for (int i = 0; i < 2; ++i)
    expect_error<vk::DeviceLostError>([&] { b.fill(2); },
                                      {"the Vulkan device was lost", "VK_ERROR_DEVICE_LOST",
                                       "injected by BITLENS_FAULT=device_lost:1", "cannot continue"});
  expect_silent(ctx);
}

TEST_F(DeviceFaults, DriverResultsBecomeTypedErrors) {
  expect_error<vk::DeviceLostError>([] { VK_CHECK(VK_ERROR_DEVICE_LOST); },
                                    {"the Vulkan device was lost", "failed with VK_ERROR_DEVICE_LOST"});
  expect_error<vk::OutOfMemoryError>([] { VK_CHECK(VK_ERROR_OUT_OF_DEVICE_MEMORY); },
                                     {"out of device memory", "does not fit"});
  expect_error<vk::OutOfMemoryError>([] { VK_CHECK(VK_ERROR_OUT_OF_HOST_MEMORY); }, {"out of host memory"});
}

TEST_F(DeviceFaults, MissingDriverIsOneClearError) {
  const test::ScopedEnv files("VK_DRIVER_FILES", "/nonexistent/bitlens_icd.json");
  const test::ScopedEnv icds("VK_ICD_FILENAMES", std::nullopt);
  const std::string want = "no Vulkan driver found (the loader was limited to VK_DRIVER_FILES=/nonexistent/bitlens_icd.json)";
  expect_error<Error>([] { vk::Context ctx(options()); }, {want, "install a Vulkan driver"});
  expect_error<Error>([] { vk::list_devices(); }, {want});
}

TEST_F(DeviceFaults, NoMatchingDeviceIsOneClearError) {
  for (const char* pick : {"no-such-device", "99"}) {
    const test::ScopedEnv device("BITLENS_DEVICE", pick);
    expect_error<Error>([] { vk::Context ctx(options()); },
                        {std::string("no Vulkan device matches '") + pick + "' (BITLENS_DEVICE or --device); devices:",
                         "0: "});
  }
}

TEST_F(DeviceFaults, TheSharedDeviceKeepsWorkingAfterFaultsElsewhere) {
  // Faults above hit contexts of their own; the suite's device is unaffected.
  kernels::Gpu& gpu = *test::shared_gpu();
  vk::Buffer b(gpu.ctx(), 4096);
  b.fill(0x1234);
  uint32_t word = 0;
  b.download(&word, 4);
  EXPECT_EQ(word, 0x1234u);
}
