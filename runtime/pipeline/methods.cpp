// The method table: each row names a method, what it accepts and needs, and calls its quantizer.
#include "pipeline/methods.h"

#include "common/error.h"
#include "pipeline/quantize_linear.h"
#include "quant/clip_search.h"
#include "quant/gptq.h"
#include "quant/lowbit.h"
#include "quant/ptq161_quant.h"
#include "quant/slim_quant.h"
#include "quant/ternary_quant.h"

namespace bitlens::pipeline {

namespace {

using quant::Format;
using quant::PackedMatrix;

// E[x_j^2]-weighted error for the quantizers that can use it; unweighted without calibration.
quant::ErrorWeights error_weights(const QuantizerInput& in) {
  return in.cal ? quant::ErrorWeights(in.cal->mean_square, in.rows, in.cols) : quant::ErrorWeights();
}

PackedMatrix gptq(const QuantizerInput& in, const LinearSpec& s, bool clip) {
  quant::GptqOptions o;
  o.bits = s.bits;
  o.group_size = s.group_size;
  o.clip_search = clip;
  return quant::pack(quant::quantize_gptq(in.w, in.rows, in.cols, in.cal->hessian, o));
}

Format group_format(uint32_t bits) { return quant::format_for_bits(bits); }

const std::vector<uint32_t> kGroupBits = {2, 3, 4, 8};

}  // namespace

const std::vector<MethodInfo>& all_methods() {
  using N = CalibrationNeed;
  static const std::vector<MethodInfo> table = {
      {Method::Rtn, "rtn", "round to nearest, min-max group ranges", kGroupBits, false, "bits", true, N::None,
       [](const QuantizerInput& in, const LinearSpec& s) {
         return quant::pack(quant::quantize_rtn(in.w, in.rows, in.cols, s.bits, s.group_size));
       },
       group_format, kGroupBits, {64, 128}, true, /*only_without_hessian=*/true},
      {Method::Clip, "clip", "round to nearest, group ranges from a clipping search", kGroupBits, false, "bits", true,
       N::None,
       [](const QuantizerInput& in, const LinearSpec& s) {
         return quant::pack(quant::quantize_clip_search(in.w, in.rows, in.cols, s.bits, s.group_size, error_weights(in)));
       },
       group_format, {}, {}},
      {Method::Gptq, "gptq", "GPTQ: Hessian-weighted error feedback, min-max group ranges", kGroupBits, false, "bits", true,
       N::Hessian, [](const QuantizerInput& in, const LinearSpec& s) { return gptq(in, s, false); },
       group_format, kGroupBits, {64, 128}},
      {Method::GptqClip, "gptq-clip", "GPTQ with group ranges from the clipping search", kGroupBits, false, "bits", true,
       N::Hessian, [](const QuantizerInput& in, const LinearSpec& s) { return gptq(in, s, true); }, group_format,
       {2, 3}, {64, 128}},
      {Method::Ptq161, "ptq161", "PTQ1.61: binarized rows plus 4-bit salient input channels", {1}, true, "bits", false,
       N::Hessian,
       [](const QuantizerInput& in, const LinearSpec& s) {
         quant::Ptq161Options o;
         o.salient_fraction = s.salient_fraction;
         return quant::pack(quant::quantize_ptq161(in.w, in.rows, in.cols, in.cal->mean_square, &in.cal->hessian, o));
       },
       [](uint32_t) { return Format::Ptq161; }, {1}, {}},
      {Method::Slim, "slim", "SliM-LLM: salience-determined mixed widths per group (mean 2 or 3 bits)", {2, 3}, false,
       "mean width", true, N::HessianAndSample,
       [](const QuantizerInput& in, const LinearSpec& s) {
         quant::SlimOptions o;
         o.bits = s.bits;
         o.group_size = s.group_size;
         return quant::pack(
             quant::quantize_slim(in.w, in.rows, in.cols, in.cal->hessian, in.cal->sample, in.cal->sample_rows, o));
       },
       [](uint32_t) { return Format::Mixed; }, {2, 3}, {128}},
      {Method::Ternary, "ternary", "ternary groups: w = a * t, t in {-1, 0, 1}", {2}, true, "bits", true, N::None,
       [](const QuantizerInput& in, const LinearSpec& s) {
         return quant::pack(quant::quantize_ternary(in.w, in.rows, in.cols, s.group_size, error_weights(in)));
       },
       [](uint32_t) { return Format::Ternary; }, {2}, {64}},
      {Method::TritPlane, "tritplane", "PTQTP trit-planes: w = a1 * t1 + a2 * t2", {4}, true, "bits", true, N::None,
       [](const QuantizerInput& in, const LinearSpec& s) {
         return quant::pack(quant::quantize_tritplane(in.w, in.rows, in.cols, s.group_size, error_weights(in)));
       },
       [](uint32_t) { return Format::TritPlane; }, {4}, {64}},
      {Method::Float, "float", "unquantized fp16 or fp32", {16, 32}, false, "bits", false, N::None,
       [](const QuantizerInput& in, const LinearSpec& s) {
         return quant::pack_float(in.w, in.rows, in.cols, s.format());
       },
       [](uint32_t bits) { return bits == 16 ? Format::F16 : Format::F32; }, {16}, {}, /*rotated_candidates=*/false},
  };
  return table;
}

const MethodInfo& method_info(Method m) {
  for (const MethodInfo& i : all_methods())
    if (i.method == m) return i;
  throw Error("unknown quantization method id " + std::to_string(uint32_t(m)));
}

const char* method_name(Method m) { return method_info(m).name; }

std::string method_names(const char* separator) {
  std::string s;
  for (const MethodInfo& i : all_methods()) s += std::string(s.empty() ? "" : separator) + i.name;
  return s;
}

Method parse_method(const std::string& name) {
  for (const MethodInfo& i : all_methods())
    if (name == i.name) return i.method;
  throw Error("unknown quantization method '" + name + "' (choose one of " + method_names() + ")");
}

std::string bits_choices(const MethodInfo& m) {
  std::string s;
  for (size_t k = 0; k < m.bits.size(); ++k)
    s += (k == 0 ? "" : k + 1 == m.bits.size() ? " or " : ", ") + std::to_string(m.bits[k]);
  return s;
}

}  // namespace bitlens::pipeline
