// Quantization of one linear layer with a LayerChoice, keeping what the inspector shows: the
// weights in the domain they were quantized in (rotated or not), their quantized values, and the
// layer's effective weights W_hat back in its own domain (what the model computes with).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "inspect/layer_choice.h"
#include "model/packed_model.h"
#include "model/weights.h"
#include "quant/group_quant.h"

namespace bitlens::inspect {

// Sign vectors of a layer's rotation, derived from a seed so that a layer always gets the same
// rotation (the preview matches what is quantized).
struct RotationSigns {
  std::vector<uint32_t> input;   // cols bits
  std::vector<uint32_t> output;  // rows bits
};
RotationSigns rotation_signs(uint32_t rows, uint32_t cols, uint64_t seed);

// U W V^T: every row rotated (V = H_in S_in / sqrt(cols)), then every column (U = H_out S_out /
// sqrt(rows)). Its inverse is what model::effective_weight applies to a rotated PackedLinear.
std::vector<float> rotate_weights(const model::Matrix& w, const RotationSigns& signs);

struct QuantizedLayer {
  LayerChoice choice;
  model::PackedLinear packed;          // what the runtime runs
  std::vector<float> quantized;        // dequantized values in the quantized domain [rows x cols]
  std::vector<float> restored;         // W_hat in the layer's own domain [rows x cols]
  std::optional<quant::QuantizedMatrix> codes;  // codes and group parameters (grouped formats)
  double bpw = 0;
};

// Round-to-nearest quantization of `w` with `choice` (rotation signs from `seed`); `choice` must be
// valid for the shape (choice_problem is empty).
QuantizedLayer quantize_layer(const model::Matrix& w, const LayerChoice& choice, uint64_t seed);

}  // namespace bitlens::inspect
