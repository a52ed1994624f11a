// A LinearSpec's checks and its dispatch to the method table, in the plain or rotated basis.
#include "pipeline/quantize_linear.h"

#include <algorithm>

#include "common/error.h"

namespace bitlens::pipeline {

quant::Format LinearSpec::format() const { return method_info(method).format(bits); }

LinearSpec LinearSpec::canonical() const {
  const MethodInfo& m = method_info(method);
  LinearSpec c = *this;
  if (method != Method::Ptq161) c.salient_fraction = 0.0;
  if (!m.grouped) c.group_size = 0;
  if (m.fixed_bits) c.bits = m.bits.front();
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
  if (rotation != quant::RotationMode::None) s += std::string(" rot=") + quant::rotation_mode_name(rotation);
  return s;
}

void validate(const LinearSpec& s) {
  const MethodInfo& m = method_info(s.method);
  const std::string what = "quantization spec '" + s.describe() + "': ";
  if (!m.fixed_bits && std::find(m.bits.begin(), m.bits.end(), s.bits) == m.bits.end())
    throw Error(what + m.bits_meaning + " must be " + bits_choices(m));
  if (s.method == Method::Ptq161 && !(s.salient_fraction >= 0.0 && s.salient_fraction <= 1.0))
    throw Error(what + "the salient fraction must lie in [0, 1]");
  const auto& groups = quant::supported_group_sizes();
  if (m.grouped && std::find(groups.begin(), groups.end(), s.group_size) == groups.end())
    throw Error(what + "group size must be 32, 64 or 128");
}

quant::PackedLinear quantize_linear(std::span<const float> w, uint32_t rows, uint32_t cols,
                                    const quant::Calibration* cal, const LinearSpec& spec, uint64_t seed) {
  validate(spec);
  const MethodInfo& m = method_info(spec.method);
  if (cal && cal->cols != cols) throw Error("quantize_linear: calibration width does not match the layer's columns");
  if (m.needs != CalibrationNeed::None && (!cal || !cal->has_hessian()))
    throw Error(std::string("quantize_linear: ") + m.name + " needs calibration data (a Hessian)");
  if (m.needs == CalibrationNeed::HessianAndSample && cal->sample_rows == 0)
    throw Error(std::string("quantize_linear: ") + m.name + " needs calibration input rows for its KL search");
  quant::PackedLinear q;
  q.rotation = quant::make_rotation(rows, cols, spec.rotation, seed);
  if (!q.rotation.input) {
    q.weight = m.quantize({w, rows, cols, cal}, spec);
    return q;
  }
  const std::vector<float> w_rot = quant::rotate_weight(w, rows, cols, q.rotation);
  if (cal) {
    const quant::Calibration rc = quant::rotate_calibration(*cal, q.rotation);
    q.weight = m.quantize({w_rot, rows, cols, &rc}, spec);
  } else {
    q.weight = m.quantize({w_rot, rows, cols, nullptr}, spec);
  }
  return q;
}

}  // namespace bitlens::pipeline
