// Salient-column selection, row binarization and the least-squares refinement of PTQ1.61.
#include "quant/ptq161_quant.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"
#include "common/fp16.h"
#include "common/parallel.h"
#include "quant/group_quant.h"

namespace bitlens::quant {

namespace {

// Row state during the refinement: w_hat_j = alpha * s_j + mu off the salient columns.
struct RowFit {
  float alpha = 0.0f, mu = 0.0f;
};

// y = H v for symmetric H [n x n].
void symv(const std::vector<double>& h, const std::vector<double>& v, std::vector<double>& y) {
  const size_t n = v.size();
  for (size_t i = 0; i < n; ++i) {
    const double* hi = &h[i * n];
    double s = 0.0;
    for (size_t j = 0; j < n; ++j) s += hi[j] * v[j];
    y[i] = s;
  }
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Output error e H e^T of one row for w_hat built from `fit` and the signs.
double row_error(const float* w, const float* w_sal, const std::vector<uint8_t>& is_sal, const uint8_t* sign,
                 const RowFit& fit, const std::vector<double>& h, std::vector<double>& e, std::vector<double>& he) {
  for (size_t j = 0; j < e.size(); ++j)
    e[j] = is_sal[j] ? double(w[j]) - w_sal[j] : double(w[j]) - (fit.alpha * float(2 * int(sign[j]) - 1) + fit.mu);
  symv(h, e, he);
  return dot(e, he);
}

// Least squares of (alpha, mu) on the output error for fixed signs, then signs re-chosen for the
// new (alpha, mu); keeps the best fit seen.
void refine_row(const float* w, const float* w_sal, const std::vector<uint8_t>& is_sal, uint8_t* sign, RowFit& fit,
                const std::vector<double>& h, const std::vector<double>& hm, uint32_t rounds) {
  const size_t n = is_sal.size();
  std::vector<double> s(n), d(n), hs(n), hd(n), e(n), he(n);
  std::vector<double> m(n);
  for (size_t j = 0; j < n; ++j) m[j] = is_sal[j] ? 0.0 : 1.0;
  std::vector<uint8_t> best_sign(sign, sign + n);
  RowFit best = {round_to_half(fit.alpha), round_to_half(fit.mu)};
  double best_err = row_error(w, w_sal, is_sal, sign, best, h, e, he);
  for (uint32_t round = 0; round < rounds; ++round) {
    for (size_t j = 0; j < n; ++j) {
      s[j] = is_sal[j] ? 0.0 : double(2 * int(sign[j]) - 1);
      d[j] = is_sal[j] ? double(w[j]) - w_sal[j] : double(w[j]);
    }
    symv(h, s, hs);
    symv(h, d, hd);
    const double a11 = dot(s, hs), a12 = dot(s, hm), a22 = dot(m, hm), r1 = dot(s, hd), r2 = dot(m, hd);
    const double det = a11 * a22 - a12 * a12;
    if (!(det > 1e-12 * a11 * a22)) break;
    RowFit next = {round_to_half(float((r1 * a22 - r2 * a12) / det)), round_to_half(float((r2 * a11 - r1 * a12) / det))};
    for (size_t j = 0; j < n; ++j)
      if (!is_sal[j]) sign[j] = (next.alpha >= 0.0f) == (w[j] >= next.mu) ? 1 : 0;
    const double err = row_error(w, w_sal, is_sal, sign, next, h, e, he);
    if (!(err < best_err)) break;
    best_err = err;
    best = next;
    best_sign.assign(sign, sign + n);
  }
  std::copy(best_sign.begin(), best_sign.end(), sign);
  fit = best;
}

}  // namespace

std::vector<uint32_t> select_salient_columns(std::span<const float> magnitude, uint32_t count) {
  if (count > magnitude.size()) throw Error("select_salient_columns: more salient columns than columns");
  std::vector<uint32_t> order(magnitude.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return magnitude[a] > magnitude[b]; });
  order.resize(count);
  std::sort(order.begin(), order.end());
  return order;
}

Ptq161Matrix quantize_ptq161(std::span<const float> w, uint32_t rows, uint32_t cols,
                             std::span<const float> channel_magnitude, const std::vector<double>* hessian,
                             const Ptq161Options& o) {
  if (w.size() != size_t(rows) * cols || channel_magnitude.size() != cols)
    throw Error("quantize_ptq161: weights or channel magnitudes do not match the " + std::to_string(rows) + "x" +
                std::to_string(cols) + " shape");
  if (!(o.salient_fraction >= 0.0 && o.salient_fraction <= 1.0))
    throw Error("quantize_ptq161: the salient fraction must lie in [0, 1]");
  if (hessian && hessian->size() != size_t(cols) * cols) throw Error("quantize_ptq161: the Hessian has the wrong size");
  const uint32_t ns = uint32_t(std::lround(o.salient_fraction * cols));
  Ptq161Matrix m = make_ptq161(rows, cols, select_salient_columns(channel_magnitude, ns));
  std::vector<uint8_t> is_sal(cols, 0);
  for (uint32_t c : m.salient) is_sal[c] = 1;
  std::vector<double> hm;
  const bool refine = o.refine && hessian && ns < cols;
  if (refine) {
    std::vector<double> mask(cols);
    for (uint32_t c = 0; c < cols; ++c) mask[c] = is_sal[c] ? 0.0 : 1.0;
    hm.resize(cols);
    symv(*hessian, mask, hm);
  }
  parallel_for(rows, [&](size_t r0, size_t r1) {
    std::vector<float> vals(ns), w_sal(cols, 0.0f);
    for (size_t r = r0; r < r1; ++r) {
      const float* wr = &w[r * cols];
      if (ns) {
        for (uint32_t k = 0; k < ns; ++k) vals[k] = wr[m.salient[k]];
        const QParams p = choose_qparams(vals, 4);
        m.sscale[r] = float_to_half(p.scale);
        m.soffset[r] = float_to_half(p.offset);
        for (uint32_t k = 0; k < ns; ++k) {
          const uint8_t q = quantize_value(vals[k], p, 4);
          m.codes[r * ns + k] = q;
          w_sal[m.salient[k]] = dequantize_value(q, p);
        }
      }
      double sum = 0.0, dev = 0.0;
      for (uint32_t c = 0; c < cols; ++c)
        if (!is_sal[c]) sum += wr[c];
      const double mu = ns < cols ? sum / (cols - ns) : 0.0;
      for (uint32_t c = 0; c < cols; ++c)
        if (!is_sal[c]) dev += std::abs(wr[c] - mu);
      RowFit fit = {float(ns < cols ? dev / (cols - ns) : 0.0), float(mu)};
      uint8_t* sign = &m.signs[r * cols];
      for (uint32_t c = 0; c < cols; ++c) sign[c] = !is_sal[c] && wr[c] >= fit.mu ? 1 : 0;
      if (refine) refine_row(wr, w_sal.data(), is_sal, sign, fit, *hessian, hm, o.refine_rounds);
      fit = {round_to_half(fit.alpha), round_to_half(fit.mu)};
      m.alpha[r] = float_to_half(fit.alpha);
      m.mu[r] = float_to_half(fit.mu);
    }
  });
  return m;
}

}  // namespace bitlens::quant
