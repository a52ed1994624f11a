// SliM-LLM's bit allocation search and salience-weighted calibration.
#include "quant/slim_quant.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.h"
#include "common/fp16.h"
#include "common/parallel.h"
#include "quant/gptq.h"
#include "quant/saliency.h"

namespace bitlens::quant {

namespace {

constexpr uint32_t kTauPoints = 21;  // 0.90, 0.91, ..., 1.10
float tau_at(uint32_t k) { return 0.9f + 0.01f * float(k); }

// The two 1-D k-means levels of v, spread by tau around their midpoint, as (scale, offset).
QParams two_levels(std::span<const float> v, float tau) {
  double mean = 0.0;
  for (float x : v) mean += x;
  mean /= double(v.size());
  double c0 = mean, c1 = mean;
  double thr = mean;
  for (int it = 0; it < 16; ++it) {
    double s0 = 0, s1 = 0;
    size_t n0 = 0, n1 = 0;
    for (float x : v) {
      if (x < thr) {
        s0 += x;
        ++n0;
      } else {
        s1 += x;
        ++n1;
      }
    }
    c0 = n0 ? s0 / double(n0) : thr;
    c1 = n1 ? s1 / double(n1) : thr;
    const double next = 0.5 * (c0 + c1);
    if (next == thr) break;
    thr = next;
  }
  const double mid = 0.5 * (c0 + c1);
  const double lo = mid - tau * (mid - c0), hi = mid + tau * (c1 - mid);
  float scale = round_to_half(float(hi - lo));
  if (!(scale > 0.0f)) scale = half_to_float(0x0400);  // smallest normal half: a constant group
  return {scale, round_to_half(float(-lo))};
}

void check_shape(std::span<const float> w, uint32_t rows, uint32_t cols, const char* what) {
  if (w.size() != size_t(rows) * cols)
    throw Error(std::string(what) + ": got " + std::to_string(w.size()) + " weights for a " + std::to_string(rows) +
                "x" + std::to_string(cols) + " matrix");
}

// GPTQ walk with per-group widths, into a MixedMatrix.
MixedMatrix mixed_gptq(std::span<const float> w, uint32_t rows, uint32_t cols, uint32_t group_size,
                       const std::vector<uint8_t>& group_bits, const std::vector<double>& hessian, double damp,
                       GroupParamChooser choose) {
  check_shape(w, rows, cols, "quantize_mixed_gptq");
  MixedMatrix m = make_mixed(rows, cols, group_size, group_bits);
  GptqWalk walk;
  walk.group_size = group_size;
  walk.group_bits = group_bits;
  walk.choose = std::move(choose);
  walk.damp = damp;
  const GptqCodes c = gptq_walk(w, rows, cols, hessian, walk);
  m.codes = c.codes;
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t g = 0; g < m.groups(); ++g) set_params(m, r, g, c.params[size_t(r) * m.groups() + g]);
  return m;
}

}  // namespace

QParams group_params(std::span<const float> v, uint32_t bits, float tau) {
  return bits == 1 ? two_levels(v, tau) : choose_qparams(v, bits, tau, tau);
}

std::vector<uint8_t> slim_group_bits(std::span<const double> group_saliency, uint32_t bits, uint32_t moves) {
  if (bits < 2 || bits > 3) throw UnsupportedError("SliM-LLM allocation needs a mean width of 2 or 3 bits, not " + std::to_string(bits));
  const size_t n = group_saliency.size();
  if (2 * size_t(moves) > n) throw Error("slim_group_bits: more moves than half the groups");
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return group_saliency[a] < group_saliency[b]; });
  std::vector<uint8_t> out(n, uint8_t(bits));
  for (uint32_t i = 0; i < moves; ++i) {
    out[order[i]] = uint8_t(bits - 1);
    out[order[n - 1 - i]] = uint8_t(bits + 1);
  }
  return out;
}

MixedMatrix quantize_mixed_rtn(std::span<const float> w, uint32_t rows, uint32_t cols, uint32_t group_size,
                               const std::vector<uint8_t>& group_bits) {
  check_shape(w, rows, cols, "quantize_mixed_rtn");
  MixedMatrix m = make_mixed(rows, cols, group_size, group_bits);
  parallel_for(rows, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r)
      for (uint32_t g = 0; g < m.groups(); ++g) {
        const uint32_t c0 = g * group_size, c1 = std::min(cols, c0 + group_size), b = group_bits[g];
        const QParams p = group_params(w.subspan(r * cols + c0, c1 - c0), b);
        set_params(m, uint32_t(r), g, p);
        for (uint32_t c = c0; c < c1; ++c) m.codes[r * cols + c] = quantize_value(w[r * cols + c], p, b);
      }
  });
  return m;
}

double output_kl(std::span<const float> w, std::span<const float> w_hat, uint32_t rows, uint32_t cols,
                 std::span<const float> x, size_t tokens) {
  check_shape(w, rows, cols, "output_kl");
  check_shape(w_hat, rows, cols, "output_kl");
  if (x.size() != tokens * cols) throw Error("output_kl: calibration rows do not match the input width");
  if (tokens == 0) throw Error("output_kl: no calibration rows");
  std::vector<double> kl(tokens);
  parallel_for(tokens, [&](size_t t0, size_t t1) {
    std::vector<double> a(rows), b(rows);
    for (size_t t = t0; t < t1; ++t) {
      const float* xt = &x[t * cols];
      for (uint32_t r = 0; r < rows; ++r) {
        double s = 0.0, sh = 0.0;
        for (uint32_t c = 0; c < cols; ++c) {
          s += double(w[size_t(r) * cols + c]) * xt[c];
          sh += double(w_hat[size_t(r) * cols + c]) * xt[c];
        }
        a[r] = s;
        b[r] = sh;
      }
      const double ma = *std::max_element(a.begin(), a.end()), mb = *std::max_element(b.begin(), b.end());
      double za = 0.0, zb = 0.0;
      for (uint32_t r = 0; r < rows; ++r) {
        za += std::exp(a[r] - ma);
        zb += std::exp(b[r] - mb);
      }
      const double la = ma + std::log(za), lb = mb + std::log(zb);
      double k = 0.0;
      for (uint32_t r = 0; r < rows; ++r) {
        const double lpa = a[r] - la;
        k += std::exp(lpa) * (lpa - (b[r] - lb));
      }
      kl[t] = std::max(0.0, k);
    }
  });
  return std::accumulate(kl.begin(), kl.end(), 0.0) / double(tokens);
}

MixedMatrix quantize_mixed_gptq(std::span<const float> w, uint32_t rows, uint32_t cols, uint32_t group_size,
                                const std::vector<uint8_t>& group_bits, const std::vector<double>& hessian, double damp) {
  return mixed_gptq(w, rows, cols, group_size, group_bits, hessian, damp,
                    [](std::span<const float> v, uint32_t b, uint32_t, uint32_t) { return group_params(v, b); });
}

double salience_split_error(std::span<const float> v, std::span<const uint8_t> salient, const QParams& p, uint32_t bits) {
  double es = 0, er = 0;
  size_t ns = 0, nr = 0;
  for (size_t j = 0; j < v.size(); ++j) {
    const double e = double(v[j]) - dequantize_value(quantize_value(v[j], p, bits), p);
    if (salient[j]) {
      es += e * e;
      ++ns;
    } else {
      er += e * e;
      ++nr;
    }
  }
  return (ns ? es / double(ns) : 0.0) + (nr ? er / double(nr) : 0.0);
}

QParams calibrate_group(std::span<const float> v, std::span<const uint8_t> salient, uint32_t bits) {
  QParams best = group_params(v, bits);
  double best_loss = salience_split_error(v, salient, best, bits);
  for (uint32_t k = 0; k < kTauPoints; ++k) {
    const QParams p = group_params(v, bits, tau_at(k));
    const double loss = salience_split_error(v, salient, p, bits);
    if (loss < best_loss) {
      best_loss = loss;
      best = p;
    }
  }
  return best;
}

MixedMatrix quantize_slim(std::span<const float> w, uint32_t rows, uint32_t cols, const std::vector<double>& hessian,
                          std::span<const float> calib_x, size_t calib_tokens, const SlimOptions& o) {
  check_shape(w, rows, cols, "quantize_slim");
  const std::vector<float> sal = obs_saliency(w, rows, cols, hessian_inverse_diagonal(hessian, cols, o.damp));
  std::vector<double> group_sal = column_group_mean(sal, rows, cols, o.group_size);
  const bool short_last = cols % o.group_size != 0;
  if (short_last) group_sal.pop_back();  // a shorter last group keeps N bits
  // 1. Allocation by KL on the calibration inputs.
  std::vector<uint8_t> best_bits;
  double best_kl = INFINITY;
  for (uint32_t moves = 0; 2 * moves <= group_sal.size(); ++moves) {
    std::vector<uint8_t> bits = slim_group_bits(group_sal, o.bits, moves);
    if (short_last) bits.push_back(uint8_t(o.bits));
    const MixedMatrix m = quantize_mixed_gptq(w, rows, cols, o.group_size, bits, hessian, o.damp);
    const double kl = output_kl(w, dequantize(m), rows, cols, calib_x, calib_tokens);
    if (kl < best_kl) {
      best_kl = kl;
      best_bits = std::move(bits);
    }
  }
  if (!o.calibrate) return quantize_mixed_gptq(w, rows, cols, o.group_size, best_bits, hessian, o.damp);
  // 2. Salience-weighted calibration: salient = saliency above mean + 3 sigma of the layer.
  double mean = 0.0, var = 0.0;
  for (float s : sal) mean += s;
  mean /= double(sal.size());
  for (float s : sal) var += (s - mean) * (s - mean);
  const double threshold = mean + 3.0 * std::sqrt(var / double(sal.size()));
  return mixed_gptq(w, rows, cols, o.group_size, best_bits, hessian, o.damp,
                    [&](std::span<const float> v, uint32_t b, uint32_t r, uint32_t c0) {
                      std::vector<uint8_t> salient(v.size());
                      for (size_t j = 0; j < v.size(); ++j) salient[j] = sal[size_t(r) * cols + c0 + j] > threshold;
                      return calibrate_group(v, salient, b);
                    });
}

}  // namespace bitlens::quant
