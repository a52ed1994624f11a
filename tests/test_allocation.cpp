// Budgeted bit allocation on fresh random error tables: never over budget, never better than the
// brute-force optimum, within its own bounds of it, monotone in the budget, fixed layers kept.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "common/error.h"
#include "gpu_test.h"
#include "quant/allocation.h"

using namespace bitlens;
using namespace bitlens::quant;

namespace {

// Options like a real layer's: more bits, mostly less error, with noise (some dominated options).
std::vector<AllocationLayer> random_table(std::mt19937_64& rng, uint32_t layers, uint32_t options) {
  std::vector<AllocationLayer> t(layers);
  for (auto& l : t) {
    const double size = double(1000 + rng() % 9000);
    for (uint32_t k = 0; k < options; ++k) {
      const double bpw = 1.5 + std::uniform_real_distribution<double>(0, 7)(rng);
      const double err = size * std::exp2(-2.0 * bpw) * std::uniform_real_distribution<double>(0.5, 2.0)(rng);
      l.options.push_back({uint64_t(bpw * size), err});
    }
  }
  return t;
}

struct Best {
  double error = INFINITY;
  uint64_t bits = 0;
};

Best brute_force(const std::vector<AllocationLayer>& t, uint64_t budget) {
  Best best;
  std::vector<uint32_t> c(t.size(), 0);
  for (;;) {
    uint64_t bits = 0;
    double err = 0;
    bool ok = true;
    for (size_t l = 0; l < t.size(); ++l) {
      if (t[l].fixed >= 0 && c[l] != uint32_t(t[l].fixed)) ok = false;
      bits += t[l].options[c[l]].bits;
      err += t[l].options[c[l]].error;
    }
    if (ok && bits <= budget && err < best.error) best = {err, bits};
    size_t l = 0;
    while (l < t.size() && ++c[l] == t[l].options.size()) c[l++] = 0;
    if (l == t.size()) return best;
  }
}

uint64_t min_bits(const std::vector<AllocationLayer>& t) {
  uint64_t b = 0;
  for (const auto& l : t) {
    uint64_t m = UINT64_MAX;
    for (const auto& o : l.options) m = std::min(m, o.bits);
    b += l.fixed >= 0 ? l.options[l.fixed].bits : m;
  }
  return b;
}

uint64_t max_bits(const std::vector<AllocationLayer>& t) {
  uint64_t b = 0;
  for (const auto& l : t) {
    uint64_t m = 0;
    for (const auto& o : l.options) m = std::max(m, o.bits);
    b += m;
  }
  return b;
}

}  // namespace

TEST(Allocation, AgreesWithBruteForceOnSmallInstances) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  int optimal = 0, total = 0;
  for (int trial = 0; trial < 300; ++trial) {
    auto t = random_table(rng, 2 + rng() % 4, 2 + rng() % 4);
    if (trial % 3 == 0) t[rng() % t.size()].fixed = int32_t(rng() % t[0].options.size() % 2);
    const uint64_t lo = min_bits(t), hi = max_bits(t);
    const uint64_t budget = lo + rng() % (hi - lo + 1) - (trial % 7 == 0 ? std::min<uint64_t>(lo, 50) : 0);
    const Allocation a = allocate(t, budget);
    const Best b = brute_force(t, budget);
    ASSERT_EQ(a.feasible, std::isfinite(b.error)) << "trial " << trial;
    if (!a.feasible) continue;
    ASSERT_LE(a.bits, budget);
    for (size_t l = 0; l < t.size(); ++l)
      if (t[l].fixed >= 0) {
        ASSERT_EQ(a.choice[l], uint32_t(t[l].fixed));
      }
    const double tol = 1e-9 * b.error;
    ASSERT_GE(a.error, b.error - tol);              // the brute force is optimal
    ASSERT_LE(a.lower_bound, b.error + tol);        // the LP relaxation bounds it from below
    ASSERT_LE(a.error, a.hull_error + tol);         // the fill never loses what the sweep found
    ++total;
    optimal += a.error <= b.error + tol;
  }
  // The sweep plus the two-layer fill finds the exact optimum on most small instances.
  EXPECT_GT(optimal, total * 3 / 4) << optimal << " of " << total;
}

TEST(Allocation, MonotoneInTheBudgetAndNeverOverIt) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int trial = 0; trial < 20; ++trial) {
    const auto t = random_table(rng, 8 + rng() % 40, 3 + rng() % 10);
    const uint64_t lo = min_bits(t), hi = max_bits(t);
    double last = INFINITY;
    for (uint64_t budget = lo; budget <= hi + 10; budget += 1 + (hi - lo) / 997) {
      const Allocation a = allocate(t, budget);
      ASSERT_TRUE(a.feasible);
      ASSERT_LE(a.bits, budget);
      ASSERT_LE(a.error, last * (1 + 1e-12)) << "budget " << budget;
      last = a.error;
    }
  }
}

TEST(Allocation, BudgetsAndRefusals) {
  EXPECT_EQ(budget_bits(2.5, 1000), 2500u);
  EXPECT_EQ(budget_bits(2.5, 1001), 2502u);
  EXPECT_THROW(budget_bits(0.0, 10), Error);
  std::vector<AllocationLayer> t(1);
  EXPECT_THROW(allocate(t, 100), Error);  // no options
  t[0].options = {{10, 1.0}, {20, 0.5}};
  t[0].fixed = 2;
  EXPECT_THROW(allocate(t, 100), Error);
  t[0].fixed = -1;
  const Allocation a = allocate(t, 5);
  EXPECT_FALSE(a.feasible);
  EXPECT_EQ(a.choice[0], 0u);
  EXPECT_EQ(allocate(t, 20).choice[0], 1u);
  t[0].options[1].error = std::nan("");
  EXPECT_THROW(allocate(t, 100), Error);
}
