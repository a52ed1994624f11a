// Cholesky factorization and inverses; the O(n^3) loops run in parallel over rows.
#include "quant/linalg.h"

#include <cmath>
#include <string>

#include "common/error.h"
#include "common/parallel.h"

namespace bitlens::quant {

namespace {

void check_square(const std::vector<double>& a, uint32_t n, const char* what) {
  if (a.size() != size_t(n) * n)
    throw Error(std::string(what) + ": expected a " + std::to_string(n) + "x" + std::to_string(n) + " matrix, got " +
                std::to_string(a.size()) + " values");
}

// Transposed inverse of a lower-triangular L: row c of the result is column c of L^-1 (forward
// substitution of e_c), so the result is upper triangular. Columns in parallel.
std::vector<double> invert_lower_transposed(const std::vector<double>& l, uint32_t n) {
  std::vector<double> inv_t(size_t(n) * n, 0.0);
  parallel_for(n, [&](size_t c0, size_t c1) {
    for (size_t c = c0; c < c1; ++c) {
      double* x = &inv_t[c * n];
      x[c] = 1.0 / l[c * n + c];
      for (size_t i = c + 1; i < n; ++i) {
        const double* li = &l[i * n];
        double s = 0.0;
        for (size_t k = c; k < i; ++k) s += li[k] * x[k];
        x[i] = -s / li[i];
      }
    }
  });
  return inv_t;
}

}  // namespace

std::vector<double> damped(const std::vector<double>& h, uint32_t n, double damp) {
  check_square(h, n, "damped");
  std::vector<double> d = h;
  double mean = 0.0;
  for (uint32_t i = 0; i < n; ++i) mean += h[size_t(i) * n + i];
  mean /= n;
  if (!(mean > 0.0)) mean = 1.0;
  for (uint32_t i = 0; i < n; ++i) {
    double& v = d[size_t(i) * n + i];
    if (v == 0.0) v = 1.0;
    v += damp * mean;
  }
  return d;
}

std::vector<double> cholesky_lower(const std::vector<double>& a, uint32_t n) {
  check_square(a, n, "cholesky");
  std::vector<double> l(size_t(n) * n, 0.0);
  for (uint32_t j = 0; j < n; ++j) {
    double d = a[size_t(j) * n + j];
    const double* lj = &l[size_t(j) * n];
    for (uint32_t k = 0; k < j; ++k) d -= lj[k] * lj[k];
    if (!(d > 0.0) || !std::isfinite(d))
      throw Error("cholesky: matrix is not positive definite (pivot " + std::to_string(j) + " of " +
                  std::to_string(n) + " is " + std::to_string(d) + ")");
    const double ljj = std::sqrt(d);
    l[size_t(j) * n + j] = ljj;
    parallel_for(n - j - 1, [&](size_t i0, size_t i1) {
      for (size_t i = j + 1 + i0; i < j + 1 + i1; ++i) {
        const double* li = &l[i * n];
        double s = a[i * n + j];
        for (uint32_t k = 0; k < j; ++k) s -= li[k] * lj[k];
        l[i * n + j] = s / ljj;
      }
    }, 64);
  }
  return l;
}

std::vector<double> inverse_spd(const std::vector<double>& a, uint32_t n) {
  const std::vector<double> t = invert_lower_transposed(cholesky_lower(a, n), n);
  // A^-1 = L^-T L^-1: (i, j) = sum_{k >= max(i, j)} Linv[k][i] Linv[k][j] = sum_k t[i][k] t[j][k].
  std::vector<double> inv(size_t(n) * n);
  parallel_for(n, [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; ++i)
      for (size_t j = i; j < n; ++j) {
        const double* ti = &t[i * n];
        const double* tj = &t[j * n];
        double s = 0.0;
        for (size_t k = j; k < n; ++k) s += ti[k] * tj[k];
        inv[i * n + j] = s;
        inv[j * n + i] = s;
      }
  });
  return inv;
}

std::vector<double> upper_cholesky_of_inverse(const std::vector<double>& a, uint32_t n) {
  const std::vector<double> l = cholesky_lower(inverse_spd(a, n), n);
  std::vector<double> u(size_t(n) * n, 0.0);
  for (uint32_t i = 0; i < n; ++i)
    for (uint32_t j = i; j < n; ++j) u[size_t(i) * n + j] = l[size_t(j) * n + i];
  return u;
}

}  // namespace bitlens::quant
