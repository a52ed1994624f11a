// The table of quantization methods: one row per method, from which everything that lists or checks
// methods is generated (the CLI's help and validation, the inspector's choices, the allocation's
// default candidates, the parameterized tests). Adding a method is its quantizer's own files plus
// one row in methods.cpp.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "quant/calibration.h"
#include "quant/format.h"
#include "quant/packing.h"

namespace bitlens::pipeline {

// GptqClip: GPTQ whose groups take the clipping search's range (clip_search.h) instead of min-max.
enum class Method : uint32_t { Float, Rtn, Clip, Gptq, Slim, Ptq161, Ternary, TritPlane, GptqClip };

// What a method needs of a layer's calibration inputs.
enum class CalibrationNeed : uint32_t {
  None,              // works without calibration (weights its error by E[x_j^2] when given)
  Hessian,           // H = 2 X^T X / n
  HessianAndSample,  // H and sample input rows (SliM-LLM's KL search)
};

struct LinearSpec;

// The inputs one quantizer call sees: the (possibly rotated) weight and calibration.
struct QuantizerInput {
  std::span<const float> w;  // [rows x cols] row-major
  uint32_t rows = 0, cols = 0;
  const quant::Calibration* cal = nullptr;  // null: none; satisfies the method's CalibrationNeed
};

struct MethodInfo {
  Method method;
  const char* name;     // "gptq-clip"
  const char* summary;  // one line for help texts
  // The widths --bits may take. A fixed-width method has one entry, its nominal width, which
  // LinearSpec::canonical() sets whatever was asked.
  std::vector<uint32_t> bits;
  bool fixed_bits;  // bits is the nominal width, not a choice
  const char* bits_meaning;  // what the bits are, for messages: "bits", "mean width"
  bool grouped;     // takes a group size (quant::supported_group_sizes())
  CalibrationNeed needs;
  quant::PackedMatrix (*quantize)(const QuantizerInput& in, const LinearSpec& spec);
  quant::Format (*format)(uint32_t bits);  // the packed format it produces at `bits`

  // Default allocation candidates (layer_allocation.h): every (bits, group) pair below (the
  // spec's default group where the list is empty), in every rotation the layer's widths allow
  // when rotated_candidates, else unrotated only. Methods needing calibration are candidates only
  // where it exists; only_without_hessian marks the stand-in for a Hessian method.
  std::vector<uint32_t> candidate_bits;
  std::vector<uint32_t> candidate_groups;
  bool rotated_candidates = true;
  bool only_without_hessian = false;
};

// Rows in the order help texts, choices and candidates list them.
const std::vector<MethodInfo>& all_methods();
const MethodInfo& method_info(Method m);
const char* method_name(Method m);
Method parse_method(const std::string& name);  // throws Error listing the choices
std::string method_names(const char* separator = ", ");  // "rtn, clip, ..." in table order
// "2, 3, 4 or 8"
std::string bits_choices(const MethodInfo& m);

}  // namespace bitlens::pipeline
