// Vulkan core: device choice and description, buffer transfers, fills, timestamps, errors.
#include <gtest/gtest.h>

#include <cstdlib>
#include <numeric>

#include "common/error.h"
#include "gpu_test.h"
#include "vk/buffer.h"
#include "vk/commands.h"

using namespace bitlens;

class VkCore : public test::GpuTest {};

TEST_F(VkCore, DescribesTheChosenDevice) {
  const std::string d = ctx().describe();
  EXPECT_NE(d.find("device"), std::string::npos);
  EXPECT_NE(d.find("driver"), std::string::npos);
  EXPECT_GE(gpu().caps().subgroup_size, 1u);
  EXPECT_FALSE(vk::list_devices().empty());
}

TEST_F(VkCore, BuffersRoundTripAndFill) {
  std::vector<uint32_t> data(1000);
  std::iota(data.begin(), data.end(), 7u);
  vk::Buffer b(ctx(), data.size() * 4);
  b.upload(data.data(), data.size() * 4);
  std::vector<uint32_t> back(data.size());
  b.download(back.data(), back.size() * 4);
  EXPECT_EQ(back, data);
  b.fill(0xabcdef01u, 16, 64);
  b.download(back.data(), back.size() * 4);
  for (size_t i = 0; i < back.size(); ++i) EXPECT_EQ(back[i], (i >= 4 && i < 20) ? 0xabcdef01u : data[i]);
  EXPECT_THROW(b.upload(data.data(), 8, data.size() * 4 - 4), Error);  // past the end
  vk::Buffer moved = std::move(b);
  EXPECT_TRUE(moved.valid());
  EXPECT_FALSE(b.valid());
}

TEST_F(VkCore, TimestampsIncrease) {
  if (!gpu().caps().timestamps) GTEST_SKIP() << "no timestamps";
  vk::QueryPool q(ctx(), 2);
  vk::Buffer b(ctx(), 1 << 20);
  vk::CommandBuffer cmd(ctx());
  cmd.reset_queries(q, 0, 2);
  cmd.timestamp(q, 0);
  cmd.fill(b, 1, 0, 1 << 20);
  cmd.timestamp(q, 1);
  cmd.submit_and_wait();
  const auto ns = q.read_ns(2);
  EXPECT_GE(ns[1], ns[0]);
}

TEST(VkDeviceChoice, UnknownDeviceNameIsAClearError) {
  vk::ContextOptions o;
  o.device = "no-such-gpu-anywhere";
  try {
    vk::Context c(o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-gpu-anywhere"), std::string::npos);
  }
}
