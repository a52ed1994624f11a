// Dispatch from a LinearSpec to the quantizers, in the plain or rotated basis.
#include "quant/quantize_linear.h"

#include "common/error.h"
#include "model/float_model.h"
#include "quant/clip_search.h"
#include "quant/gptq.h"
#include "quant/lowbit.h"
#include "quant/ptq161_quant.h"
#include "quant/slim_quant.h"
#include "quant/ternary_quant.h"

namespace bitlens::quant {

namespace {

constexpr Method kMethods[] = {Method::Float,  Method::Rtn,     Method::Clip,      Method::Gptq,    Method::GptqClip,
                               Method::Slim,   Method::Ptq161,  Method::Ternary,   Method::TritPlane};

bool needs_hessian(Method m) {
  return m == Method::Gptq || m == Method::GptqClip || m == Method::Slim || m == Method::Ptq161;
}

PackedMatrix quantize_matrix(std::span<const float> w, uint32_t rows, uint32_t cols, const Calibration* cal,
                             const LinearSpec& s) {
  const ErrorWeights ew = cal ? ErrorWeights(cal->mean_square, rows, cols) : ErrorWeights();
  switch (s.method) {
    case Method::Float: return pack_float(w, rows, cols, s.format());
    case Method::Rtn: return pack(quantize_rtn(w, rows, cols, s.bits, s.group_size));
    case Method::Clip: return pack(quantize_clip_search(w, rows, cols, s.bits, s.group_size, ew));
    case Method::Gptq:
    case Method::GptqClip: {
      GptqOptions o;
      o.bits = s.bits;
      o.group_size = s.group_size;
      o.clip_search = s.method == Method::GptqClip;
      return pack(quantize_gptq(w, rows, cols, cal->hessian, o));
    }
    case Method::Slim: {
      SlimOptions o;
      o.bits = s.bits;
      o.group_size = s.group_size;
      return pack(quantize_slim(w, rows, cols, cal->hessian, cal->sample, cal->sample_rows, o));
    }
    case Method::Ptq161: {
      Ptq161Options o;
      o.salient_fraction = s.salient_fraction;
      return pack(quantize_ptq161(w, rows, cols, cal->mean_square, &cal->hessian, o));
    }
    case Method::Ternary: return pack(quantize_ternary(w, rows, cols, s.group_size, ew));
    case Method::TritPlane: return pack(quantize_tritplane(w, rows, cols, s.group_size, ew));
  }
  throw Error("quantize_linear: unknown method");
}

}  // namespace

const char* method_name(Method m) {
  switch (m) {
    case Method::Float: return "float";
    case Method::Rtn: return "rtn";
    case Method::Clip: return "clip";
    case Method::Gptq: return "gptq";
    case Method::Slim: return "slim";
    case Method::Ptq161: return "ptq161";
    case Method::Ternary: return "ternary";
    case Method::TritPlane: return "tritplane";
    case Method::GptqClip: return "gptq-clip";
  }
  return "?";
}

Method parse_method(const std::string& name) {
  std::string choices;
  for (Method m : kMethods) {
    if (name == method_name(m)) return m;
    choices += std::string(choices.empty() ? "" : ", ") + method_name(m);
  }
  throw Error("unknown quantization method '" + name + "' (choose one of " + choices + ")");
}

Format LinearSpec::format() const {
  switch (method) {
    case Method::Float: return bits == 16 ? Format::F16 : Format::F32;
    case Method::Slim: return Format::Mixed;
    case Method::Ptq161: return Format::Ptq161;
    case Method::Ternary: return Format::Ternary;
    case Method::TritPlane: return Format::TritPlane;
    default: return format_for_bits(bits);
  }
}

LinearSpec LinearSpec::canonical() const {
  LinearSpec c = *this;
  if (method != Method::Ptq161) c.salient_fraction = 0.0;
  if (method == Method::Float || method == Method::Ptq161) c.group_size = 0;
  if (method == Method::Ptq161) c.bits = 1;
  if (method == Method::Ternary) c.bits = 2;
  if (method == Method::TritPlane) c.bits = 4;
  return c;
}

bool LinearSpec::operator==(const LinearSpec& o) const {
  const LinearSpec a = canonical(), b = o.canonical();
  return a.method == b.method && a.bits == b.bits && a.group_size == b.group_size && a.rotation == b.rotation &&
         a.salient_fraction == b.salient_fraction;
}

std::string LinearSpec::describe() const {
  std::string s = method_name(method);
  switch (method) {
    case Method::Float: s += bits == 16 ? " f16" : " f32"; break;
    case Method::Ptq161: s += " s" + std::to_string(salient_fraction).substr(0, 5); break;
    case Method::Ternary:
    case Method::TritPlane: s += " g" + std::to_string(group_size); break;
    case Method::Slim: s += " b" + std::to_string(bits) + " g" + std::to_string(group_size); break;
    default: s += " q" + std::to_string(bits) + " g" + std::to_string(group_size);
  }
  if (rotation != RotationMode::None) s += std::string(" rot=") + rotation_mode_name(rotation);
  return s;
}

void validate(const LinearSpec& s) {
  const std::string what = "quantization spec '" + s.describe() + "': ";
  switch (s.method) {
    case Method::Float:
      if (s.bits != 16 && s.bits != 32) throw Error(what + "float layers have 16 or 32 bits");
      break;
    case Method::Rtn:
    case Method::Clip:
    case Method::Gptq:
    case Method::GptqClip:
      if (s.bits != 2 && s.bits != 3 && s.bits != 4 && s.bits != 8) throw Error(what + "bits must be 2, 3, 4 or 8");
      break;
    case Method::Slim:
      if (s.bits != 2 && s.bits != 3) throw Error(what + "SliM-LLM's mean width must be 2 or 3 bits");
      break;
    case Method::Ptq161:
      if (!(s.salient_fraction >= 0.0 && s.salient_fraction <= 1.0)) throw Error(what + "the salient fraction must lie in [0, 1]");
      break;
    default: break;
  }
  if (s.method != Method::Float && s.method != Method::Ptq161 && s.group_size != 32 && s.group_size != 64 &&
      s.group_size != 128)
    throw Error(what + "group size must be 32, 64 or 128");
}

QuantizedLinear quantize_linear(std::span<const float> w, uint32_t rows, uint32_t cols, const Calibration* cal,
                                const LinearSpec& spec, uint64_t seed) {
  validate(spec);
  if (cal && cal->cols != cols) throw Error("quantize_linear: calibration width does not match the layer's columns");
  if (needs_hessian(spec.method) && (!cal || !cal->has_hessian()))
    throw Error(std::string("quantize_linear: ") + method_name(spec.method) + " needs calibration data (a Hessian)");
  if (spec.method == Method::Slim && cal->sample_rows == 0)
    throw Error("quantize_linear: slim needs calibration input rows for its KL search");
  QuantizedLinear q;
  q.rotation = make_rotation(rows, cols, spec.rotation, seed);
  if (!q.rotation.input) {
    q.weight = quantize_matrix(w, rows, cols, cal, spec);
    return q;
  }
  const std::vector<float> w_rot = rotate_weight(w, rows, cols, q.rotation);
  if (cal) {
    const Calibration rc = rotate_calibration(*cal, q.rotation);
    q.weight = quantize_matrix(w_rot, rows, cols, &rc, spec);
  } else {
    q.weight = quantize_matrix(w_rot, rows, cols, nullptr, spec);
  }
  return q;
}

std::vector<float> effective_weight(const QuantizedLinear& q) { return model::effective_weight(to_packed_linear(q)); }

model::PackedLinear to_packed_linear(const QuantizedLinear& q) {
  model::PackedLinear l;
  l.weight = q.weight;
  l.has_input_rotation = q.rotation.input;
  l.input_signs = q.rotation.input_signs;
  l.has_output_rotation = q.rotation.output;
  l.output_signs = q.rotation.output_signs;
  return l;
}

uint64_t stored_bits(const QuantizedLinear& q) { return to_packed_linear(q).stored_bytes() * 8; }

}  // namespace bitlens::quant
