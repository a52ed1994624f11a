// Central finite-difference checks of analytic gradients for the training tests. The ops run in
// fp32, so each check perturbs along a random direction (and along a few single coordinates) by a
// step large enough that fp32 rounding of the loss stays far below the truncation error, and
// compares with a relative tolerance the caller states.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace bitlens::test {

// loss() evaluates the scalar loss at the current contents of x. grad is dloss/dx at x. abs_tol
// covers the fp32 noise of the loss itself divided by the step (for losses that are means).
inline void check_gradient(std::vector<float>& x, const std::vector<float>& grad, const std::function<double()>& loss,
                           float eps, double rel_tol, uint64_t seed, const std::string& what, int coordinates = 4,
                           double abs_tol = 0.0) {
  ASSERT_EQ(x.size(), grad.size()) << what;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd;
  const auto along = [&](const std::vector<float>& v) {
    const std::vector<float> x0 = x;
    for (size_t i = 0; i < x.size(); ++i) x[i] = x0[i] + eps * v[i];
    const double lp = loss();
    for (size_t i = 0; i < x.size(); ++i) x[i] = x0[i] - eps * v[i];
    const double lm = loss();
    x = x0;
    double analytic = 0.0, scale = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
      analytic += double(grad[i]) * v[i];
      scale += std::abs(double(grad[i]) * v[i]);
    }
    return std::pair{(lp - lm) / (2.0 * double(eps)), std::pair{analytic, scale}};
  };
  std::vector<float> v(x.size());
  for (float& e : v) e = nd(rng);
  const auto [num, ana] = along(v);
  EXPECT_NEAR(num, ana.first, rel_tol * ana.second + abs_tol + 1e-9) << what << ": random direction";
  // Single coordinates: the largest gradient entries and random ones.
  std::uniform_int_distribution<size_t> pick(0, x.size() - 1);
  for (int k = 0; k < coordinates; ++k) {
    size_t i = pick(rng);
    if (k == 0)
      for (size_t j = 0; j < x.size(); ++j)
        if (std::abs(grad[j]) > std::abs(grad[i])) i = j;
    std::fill(v.begin(), v.end(), 0.0f);
    v[i] = 1.0f;
    const auto [n1, a1] = along(v);
    EXPECT_NEAR(n1, a1.first,
                rel_tol * std::abs(a1.first) + rel_tol * 1e-2 * ana.second / std::sqrt(double(x.size())) + abs_tol + 1e-9)
        << what << ": coordinate " << i;
  }
}

// A weighted sum of outputs, sum_i r_i y_i, in double: a scalar loss whose gradient is r.
inline double weighted_sum(const std::vector<float>& y, const std::vector<float>& r) {
  double s = 0.0;
  for (size_t i = 0; i < y.size(); ++i) s += double(y[i]) * r[i];
  return s;
}

}  // namespace bitlens::test
