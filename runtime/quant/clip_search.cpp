// Grid search of the clipping factors, in parallel over rows.
#include "quant/clip_search.h"

#include <algorithm>
#include <vector>

#include "common/error.h"
#include "common/parallel.h"

namespace bitlens::quant {

double group_error(std::span<const float> w, std::span<const float> weights, const QParams& p, uint32_t bits) {
  double err = 0.0;
  for (size_t j = 0; j < w.size(); ++j) {
    const double e = double(w[j]) - dequantize_value(quantize_value(w[j], p, bits), p);
    err += (weights.empty() ? 1.0 : double(weights[j])) * e * e;
  }
  return err;
}

QParams search_clip(std::span<const float> w, std::span<const float> weights, uint32_t bits) {
  if (!weights.empty() && weights.size() != w.size()) throw Error("search_clip: one weight per value expected");
  QParams best = choose_qparams(w, bits);
  double best_err = group_error(w, weights, best, bits);
  for (uint32_t a = 0; a < kClipGridPoints; ++a)
    for (uint32_t b = 0; b < kClipGridPoints; ++b) {
      if (a == 0 && b == 0) continue;
      const QParams p = choose_qparams(w, bits, clip_grid_value(a), clip_grid_value(b));
      const double err = group_error(w, weights, p, bits);
      if (err < best_err) {
        best_err = err;
        best = p;
      }
    }
  return best;
}

QuantizedMatrix quantize_clip_search(std::span<const float> w, uint32_t rows, uint32_t cols, uint32_t bits,
                                     uint32_t group_size, const ErrorWeights& weights) {
  if (w.size() != size_t(rows) * cols)
    throw Error("quantize_clip_search: got " + std::to_string(w.size()) + " weights for a " + std::to_string(rows) +
                "x" + std::to_string(cols) + " matrix");
  QuantizedMatrix m = make_quantized(rows, cols, bits, group_size);
  parallel_for(rows, [&](size_t r0, size_t r1) {
    std::vector<float> wt(group_size);
    for (size_t r = r0; r < r1; ++r)
      for (uint32_t g = 0; g < m.groups(); ++g) {
        const uint32_t c0 = g * group_size, c1 = std::min(cols, c0 + group_size);
        std::span<const float> grp = w.subspan(r * cols + c0, c1 - c0);
        std::span<const float> gw;
        if (!weights.empty()) {
          weights.row_range(uint32_t(r), c0, c1, wt.data());
          gw = std::span<const float>(wt.data(), c1 - c0);
        }
        const QParams p = search_clip(grp, gw, bits);
        set_params(m, uint32_t(r), g, p);
        for (uint32_t c = c0; c < c1; ++c) m.codes[r * cols + c] = quantize_value(w[r * cols + c], p, bits);
      }
  });
  return m;
}

}  // namespace bitlens::quant
