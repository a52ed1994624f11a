// Per-test base seeds, the seeds derived from them, and the replay line (see seeds.h).
#include "seeds.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>

namespace bitlens::test {

namespace {

// BITLENS_TEST_SEED as a number; a malformed value ends the run before any test.
std::optional<uint64_t> seed_from_env() {
  const char* s = std::getenv("BITLENS_TEST_SEED");
  if (!s || !*s) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (*end || errno || *s == '-') {
    std::fprintf(stderr, "[bitlens] BITLENS_TEST_SEED=%s is not a decimal seed (0 to 2^64-1)\n", s);
    std::exit(2);
  }
  return uint64_t(v);
}

uint64_t draw_base_seed() {
  static const std::optional<uint64_t> fixed = seed_from_env();
  if (fixed) return *fixed;
  std::random_device rd;
  return (uint64_t(rd()) << 32) ^ rd();
}

// splitmix64's finalizer: a bijective mix, so distinct inputs give unrelated seeds.
uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

std::string full_name(const ::testing::TestInfo& test) {
  return std::string(test.test_suite_name()) + "." + test.name();
}

// The running test's base seed, the hash of its name and the seeds it has drawn. Before the first
// test (parameter generators, listing) the name is empty.
struct TestSeed {
  uint64_t base = draw_base_seed();
  uint64_t name = fnv1a("");
  uint64_t drawn = 0;
};

TestSeed& current() {
  static TestSeed s;
  return s;
}

}  // namespace

SeedListener::SeedListener(const char* program) : program_(program) {
  current();  // reads BITLENS_TEST_SEED now, so that a malformed value stops the run before any test
}

uint64_t fresh_seed() {
  TestSeed& s = current();
  return mix(mix(s.base ^ s.name) + ++s.drawn * 0x9e3779b97f4a7c15ull);
}

void SeedListener::OnTestStart(const ::testing::TestInfo& test) {
  current() = {draw_base_seed(), fnv1a(full_name(test)), 0};
}

void SeedListener::OnTestEnd(const ::testing::TestInfo& test) {
  if (!test.result()->Failed()) return;
  std::printf("[bitlens] replay: BITLENS_TEST_SEED=%llu %s --gtest_filter='%s'\n",
              static_cast<unsigned long long>(current().base), program_, full_name(test).c_str());
  std::fflush(stdout);
}

}  // namespace bitlens::test
