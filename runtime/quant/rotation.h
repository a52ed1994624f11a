// Incoherence processing by randomized Hadamard rotation (docs/METHODS.md section 4). A rotated layer
// stores W' = U W V^T with V = H_in S_in / sqrt(in) and U = H_out S_out / sqrt(out) (hadamard.h's
// rotate() applies exactly V or U to a vector), and runs as y = U^T (W'_hat (V x)): the input is
// rotated online before the mat-vec and the output rotated back after it (PackedLinear's
// has_input_rotation / has_output_rotation). RotationMode::Input uses V alone (W' = W V^T, U = I).
// A layer quantized in the rotated basis sees inputs V x, so its Hessian is V H V^T and its
// calibration rows V x (rotate_calibration in calibration.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace bitlens::quant {

enum class RotationMode : uint32_t { None = 0, Input = 1, Both = 2 };
const char* rotation_mode_name(RotationMode m);      // "none", "input", "both"
RotationMode parse_rotation_mode(const std::string& s);  // throws Error listing the choices

struct Rotation {
  bool input = false, output = false;
  std::vector<uint32_t> input_signs;   // sign bits of S_in (random_sign_bits)
  std::vector<uint32_t> output_signs;  // sign bits of S_out
};

// Signs for a [rows x cols] layer from a seed; throws UnsupportedError if a rotated width is not a
// supported Hadamard size.
Rotation make_rotation(uint32_t rows, uint32_t cols, RotationMode mode, uint64_t seed);

// W' = U W V^T (row-major [rows x cols]).
std::vector<float> rotate_weight(std::span<const float> w, uint32_t rows, uint32_t cols, const Rotation& r);
// U^T W' V: the weight a rotated layer effectively applies.
std::vector<float> unrotate_weight(std::span<const float> w_rot, uint32_t rows, uint32_t cols, const Rotation& r);
// x' = V x for `tokens` rows of `cols` values (identity without an input rotation).
std::vector<float> rotate_inputs(std::span<const float> x, size_t tokens, uint32_t cols, const Rotation& r);
// H' = V H V^T for H [cols x cols].
std::vector<double> rotate_hessian(const std::vector<double>& h, uint32_t cols, const Rotation& r);

}  // namespace bitlens::quant
