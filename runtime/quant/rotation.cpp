// Two-sided Hadamard rotation of weight matrices and of the input statistics.
#include "quant/rotation.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/parallel.h"
#include "quant/hadamard.h"

namespace bitlens::quant {

namespace {

constexpr uint64_t kOutputSeedMix = 0x9e3779b97f4a7c15ull;

// Applies fn(row span) to every row of a [rows x cols] float matrix, in parallel.
template <class Fn>
void each_row(std::vector<float>& m, uint32_t rows, uint32_t cols, Fn&& fn) {
  parallel_for(rows, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) fn(std::span<float>(&m[r * cols], cols));
  }, 4);
}

// Applies fn(column span) to every column, through a gathered copy.
template <class Fn>
void each_column(std::vector<float>& m, uint32_t rows, uint32_t cols, Fn&& fn) {
  parallel_for(cols, [&](size_t c0, size_t c1) {
    std::vector<float> col(rows);
    for (size_t c = c0; c < c1; ++c) {
      for (uint32_t r = 0; r < rows; ++r) col[r] = m[size_t(r) * cols + c];
      fn(std::span<float>(col));
      for (uint32_t r = 0; r < rows; ++r) m[size_t(r) * cols + c] = col[r];
    }
  }, 4);
}

void check_shape(size_t n, uint32_t rows, uint32_t cols, const char* what) {
  if (n != size_t(rows) * cols)
    throw Error(std::string(what) + ": got " + std::to_string(n) + " values for a " + std::to_string(rows) + "x" +
                std::to_string(cols) + " matrix");
}

}  // namespace

const char* rotation_mode_name(RotationMode m) {
  switch (m) {
    case RotationMode::None: return "none";
    case RotationMode::Input: return "input";
    case RotationMode::Both: return "both";
  }
  return "none";
}

RotationMode parse_rotation_mode(const std::string& s) {
  for (RotationMode m : {RotationMode::None, RotationMode::Input, RotationMode::Both})
    if (s == rotation_mode_name(m)) return m;
  throw Error("unknown rotation '" + s + "' (choose none, input or both)");
}

Rotation make_rotation(uint32_t rows, uint32_t cols, RotationMode mode, uint64_t seed) {
  Rotation r;
  if (mode == RotationMode::None) return r;
  hadamard_factor(cols);
  r.input = true;
  r.input_signs = random_sign_bits(cols, seed);
  if (mode == RotationMode::Both) {
    hadamard_factor(rows);
    r.output = true;
    r.output_signs = random_sign_bits(rows, seed ^ kOutputSeedMix);
  }
  return r;
}

std::vector<float> rotate_weight(std::span<const float> w, uint32_t rows, uint32_t cols, const Rotation& r) {
  check_shape(w.size(), rows, cols, "rotate_weight");
  std::vector<float> m(w.begin(), w.end());
  if (r.input) each_row(m, rows, cols, [&](std::span<float> row) { rotate(row, r.input_signs); });
  if (r.output) each_column(m, rows, cols, [&](std::span<float> col) { rotate(col, r.output_signs); });
  return m;
}

std::vector<float> unrotate_weight(std::span<const float> w_rot, uint32_t rows, uint32_t cols, const Rotation& r) {
  check_shape(w_rot.size(), rows, cols, "unrotate_weight");
  std::vector<float> m(w_rot.begin(), w_rot.end());
  if (r.output) each_column(m, rows, cols, [&](std::span<float> col) { rotate_inverse(col, r.output_signs); });
  if (r.input) each_row(m, rows, cols, [&](std::span<float> row) { rotate_inverse(row, r.input_signs); });
  return m;
}

std::vector<float> rotate_inputs(std::span<const float> x, size_t tokens, uint32_t cols, const Rotation& r) {
  check_shape(x.size(), uint32_t(tokens), cols, "rotate_inputs");
  std::vector<float> m(x.begin(), x.end());
  if (r.input) each_row(m, uint32_t(tokens), cols, [&](std::span<float> row) { rotate(row, r.input_signs); });
  return m;
}

std::vector<double> rotate_hessian(const std::vector<double>& h, uint32_t cols, const Rotation& r) {
  if (h.size() != size_t(cols) * cols) throw Error("rotate_hessian: the Hessian must be " + std::to_string(cols) + " square");
  if (!r.input) return h;
  // V H V^T: V applied to every column of H, then to every row of the result (H is symmetric, so
  // rows can stand for columns). The transform runs in fp32 on values scaled to unit range.
  double scale = 0.0;
  for (double v : h) scale = std::max(scale, std::abs(v));
  if (scale == 0.0) return h;
  std::vector<float> m(h.size());
  for (size_t i = 0; i < h.size(); ++i) m[i] = float(h[i] / scale);
  each_row(m, cols, cols, [&](std::span<float> row) { rotate(row, r.input_signs); });
  each_column(m, cols, cols, [&](std::span<float> col) { rotate(col, r.input_signs); });
  std::vector<double> out(h.size());
  for (uint32_t i = 0; i < cols; ++i)
    for (uint32_t j = 0; j < cols; ++j)  // symmetrize away fp32 rounding
      out[size_t(i) * cols + j] = 0.5 * scale * (double(m[size_t(i) * cols + j]) + double(m[size_t(j) * cols + i]));
  return out;
}

}  // namespace bitlens::quant
