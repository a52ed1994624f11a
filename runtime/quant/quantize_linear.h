// One linear layer, quantized by any method of this folder into any format, optionally in a
// Hadamard-rotated basis: the unit that bit allocation measures and recipes name.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "model/packed_model.h"
#include "quant/calibration.h"
#include "quant/packing.h"
#include "quant/rotation.h"

namespace bitlens::quant {

// GptqClip: GPTQ whose groups take the clipping search's range (clip_search.h) instead of min-max.
enum class Method : uint32_t { Float, Rtn, Clip, Gptq, Slim, Ptq161, Ternary, TritPlane, GptqClip };
// "float", "rtn", "clip", "gptq", "slim", "ptq161", "ternary", "tritplane", "gptq-clip"
const char* method_name(Method m);
Method parse_method(const std::string& name);  // throws Error listing the choices

struct LinearSpec {
  Method method = Method::Rtn;
  uint32_t bits = 4;            // rtn/clip/gptq: 2, 3, 4, 8; slim: mean width 2 or 3; float: 16 or 32
  uint32_t group_size = 64;     // every grouped method (not float, ptq161)
  RotationMode rotation = RotationMode::None;
  double salient_fraction = 0.2;  // ptq161

  Format format() const;           // the packed format this spec produces
  std::string describe() const;    // e.g. "gptq q2 g64 rot=both"
  // The same spec with the fields its method ignores set to fixed values (bits: 1 for ptq161, 2
  // for ternary, 4 for trit-planes; group size 0 for float and ptq161; salient fraction 0 unless
  // ptq161); specs compare equal when their canonical forms do.
  LinearSpec canonical() const;
  bool operator==(const LinearSpec& o) const;
};
// Throws Error naming what is wrong (unsupported bits, group size, method needs).
void validate(const LinearSpec& spec);

struct QuantizedLinear {
  PackedMatrix weight;  // approximates U W V^T when rotated
  Rotation rotation;
};

// cal: the layer's calibration (needed by gptq, slim and ptq161; weights the error of clip,
// ternary and tritplane by E[x_j^2] when present); seed: the rotation's random signs.
QuantizedLinear quantize_linear(std::span<const float> w, uint32_t rows, uint32_t cols, const Calibration* cal,
                                const LinearSpec& spec, uint64_t seed);

// U^T W'_hat V: the weight the quantized layer applies, in the original basis.
std::vector<float> effective_weight(const QuantizedLinear& q);

// The runtime's form of the layer, and its size exactly as PackedLinear::stored_bytes counts it.
model::PackedLinear to_packed_linear(const QuantizedLinear& q);
uint64_t stored_bits(const QuantizedLinear& q);

}  // namespace bitlens::quant
