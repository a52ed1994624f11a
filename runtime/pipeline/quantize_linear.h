// One linear layer, quantized by any method of the method table into its format, optionally in a
// Hadamard-rotated basis: the unit that bit allocation measures and recipes name.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "pipeline/methods.h"
#include "quant/calibration.h"
#include "quant/packed_linear.h"
#include "quant/rotation.h"

namespace bitlens::pipeline {

struct LinearSpec {
  Method method = Method::Rtn;
  uint32_t bits = 4;            // one of the method's bits (methods.h)
  uint32_t group_size = 64;     // grouped methods
  quant::RotationMode rotation = quant::RotationMode::None;
  double salient_fraction = 0.2;  // ptq161

  quant::Format format() const;  // the packed format this spec produces
  std::string describe() const;  // e.g. "gptq q2 g64 rot=both"
  // The same spec with the fields its method ignores set to fixed values (a fixed-width method's
  // nominal bits; group size 0 for ungrouped methods; salient fraction 0 unless ptq161); specs
  // compare equal when their canonical forms do.
  LinearSpec canonical() const;
  bool operator==(const LinearSpec& o) const;
};
// Throws Error naming what is wrong (unsupported bits, group size, method needs).
void validate(const LinearSpec& spec);

// cal: the layer's calibration (needed by the methods whose CalibrationNeed says so; weights the
// error of clip, ternary and tritplane by E[x_j^2] when present); seed: the rotation's random signs.
// The result has no LoRA factors.
quant::PackedLinear quantize_linear(std::span<const float> w, uint32_t rows, uint32_t cols,
                                    const quant::Calibration* cal, const LinearSpec& spec, uint64_t seed);

}  // namespace bitlens::pipeline
