// Layer error metrics and activation-aware saliency.
#include "inspect/metrics.h"

#include <cmath>

#include "common/error.h"
#include "quant/cpu_matmul.h"

namespace bitlens::inspect {

std::vector<float> channel_energy(std::span<const float> x, uint32_t tokens, uint32_t cols) {
  if (x.size() < size_t(tokens) * cols) throw Error("channel_energy: too few inputs");
  std::vector<double> acc(cols, 0.0);
  for (uint32_t t = 0; t < tokens; ++t)
    for (uint32_t j = 0; j < cols; ++j) acc[j] += double(x[size_t(t) * cols + j]) * x[size_t(t) * cols + j];
  std::vector<float> e(cols);
  for (uint32_t j = 0; j < cols; ++j) e[j] = tokens ? float(acc[j] / tokens) : 0.0f;
  return e;
}

std::vector<float> activation_saliency(const model::Matrix& w, std::span<const float> energy) {
  if (energy.size() != w.cols) throw Error("activation_saliency: one energy per input channel is needed");
  std::vector<float> s(size_t(w.rows) * w.cols);
  for (uint32_t r = 0; r < w.rows; ++r)
    for (uint32_t c = 0; c < w.cols; ++c) {
      const float v = w.row(r)[c];
      s[size_t(r) * w.cols + c] = v * v * energy[c];
    }
  return s;
}

namespace {

double sum_squares(std::span<const float> v) {
  double s = 0;
  for (float x : v) s += double(x) * x;
  return s;
}

}  // namespace

double output_energy(const model::Matrix& w, std::span<const float> x, uint32_t tokens) {
  std::vector<float> y(size_t(tokens) * w.rows);
  quant::cpu_matmul(w.span(), w.rows, w.cols, x, tokens, y);
  return sum_squares(y);
}

LayerMetrics measure_layer(const model::Matrix& w, std::span<const float> w_hat, std::span<const float> x,
                           uint32_t tokens, std::span<const float> energy, double reference_energy) {
  const size_t n = size_t(w.rows) * w.cols;
  if (w_hat.size() != n) throw Error("measure_layer: W_hat has the wrong size");
  if (energy.size() != w.cols) throw Error("measure_layer: one energy per input channel is needed");
  std::vector<float> delta(n);
  double w2 = 0, d2 = 0, sw = 0, sd = 0;
  for (uint32_t r = 0; r < w.rows; ++r)
    for (uint32_t c = 0; c < w.cols; ++c) {
      const size_t i = size_t(r) * w.cols + c;
      const double v = w.data[i], d = double(w.data[i]) - w_hat[i];
      delta[i] = float(d);
      w2 += v * v;
      d2 += d * d;
      const double s = v * v * energy[c];
      sw += s * v * v;
      sd += s * d * d;
    }
  std::vector<float> y(size_t(tokens) * w.rows);
  quant::cpu_matmul(delta, w.rows, w.cols, x, tokens, y);
  const double e2 = sum_squares(y);
  LayerMetrics m;
  m.weight_error = w2 > 0 ? std::sqrt(d2 / w2) : 0.0;
  m.output_error = reference_energy > 0 ? std::sqrt(e2 / reference_energy) : 0.0;
  m.saliency_error = sw > 0 ? std::sqrt(sd / sw) : 0.0;
  m.output_sse = tokens ? e2 / tokens : 0.0;
  return m;
}

}  // namespace bitlens::inspect
