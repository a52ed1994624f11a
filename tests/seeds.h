// Replayable random data for tests. Each test has a base seed: BITLENS_TEST_SEED when set, else one
// drawn from std::random_device as the test starts. fresh_seed() derives its values from the base
// seed, the test's full name and how many values the test has drawn, so running one test again
// with the same base seed gives it the same values, whatever else runs in the process. When a test
// fails, the listener of tests/main.cpp prints the command that replays it:
//   [bitlens] replay: BITLENS_TEST_SEED=123456789 build/tests/bitlens_tests --gtest_filter='Suite.Name'
// Tests draw all their randomness through fresh_seed().
#pragma once

#include <gtest/gtest.h>

#include <cstdint>

namespace bitlens::test {

// The next seed of the running test (see above).
uint64_t fresh_seed();

// Sets each test's base seed as it starts and prints the replay command when it fails.
class SeedListener : public ::testing::EmptyTestEventListener {
 public:
  explicit SeedListener(const char* program);
  void OnTestStart(const ::testing::TestInfo& test) override;
  void OnTestEnd(const ::testing::TestInfo& test) override;

 private:
  const char* program_;
};

}  // namespace bitlens::test
