// The method table (pipeline/methods.h), tested row by row: the cases are generated from
// all_methods(), so a new method is tested the moment its row exists. For every method, every width
// it takes and every rotation: quantize_linear on a random layer with correlated calibration
// inputs gives the format the row names, counts its bytes as the layout stores them, refuses a
// layer without the calibration it needs, and approximates the weight (relative E[x^2]-weighted
// error below a per-width bound that any working quantizer of that width meets on Gaussian
// weights: 1.0 at 1-2 bits, 0.5 at 3, 0.2 at 4, 0.02 at 8 and above).
#include <gtest/gtest.h>

#include <string>

#include "calib_data.h"
#include "common/error.h"
#include "gpu_test.h"
#include "pipeline/layer_allocation.h"
#include "pipeline/model_quant.h"
#include "quant/metrics.h"

using namespace bitlens;
using namespace bitlens::pipeline;

namespace {

struct Case {
  Method method;
  uint32_t bits;
  quant::RotationMode rotation;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string s = method_name(info.param.method);
  for (char& c : s)
    if (c == '-') c = '_';
  return s + "_b" + std::to_string(info.param.bits) + "_" + quant::rotation_mode_name(info.param.rotation);
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const MethodInfo& m : all_methods())
    for (uint32_t bits : m.bits)
      for (auto rot : {quant::RotationMode::None, quant::RotationMode::Both}) cases.push_back({m.method, bits, rot});
  return cases;
}

double error_bound(uint32_t bits) { return bits <= 2 ? 1.0 : bits == 3 ? 0.5 : bits == 4 ? 0.2 : 0.02; }

class MethodTable : public ::testing::TestWithParam<Case> {};

TEST_P(MethodTable, QuantizesARandomLayer) {
  const Case c = GetParam();
  const MethodInfo& m = method_info(c.method);
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t rows = 48, cols = 128;
  const auto w = test::random_normal(size_t(rows) * cols, seed, 0.05f);
  const quant::Calibration cal =
      calibration_from(test::stats_of(test::correlated_inputs(512, cols, seed + 1), cols, 128));
  const LinearSpec spec{c.method, c.bits, 64, c.rotation};

  if (m.needs != CalibrationNeed::None) {
    EXPECT_THROW(quantize_linear(w, rows, cols, nullptr, spec, seed), Error);
  }
  const quant::PackedLinear q = quantize_linear(w, rows, cols, &cal, spec, seed);
  EXPECT_EQ(q.weight.layout.format, m.format(c.bits));
  EXPECT_EQ(q.weight.layout.format, spec.format());
  EXPECT_EQ(q.weight.words.size(), q.weight.layout.total_words());
  EXPECT_EQ(q.rotation.input, c.rotation != quant::RotationMode::None);
  uint64_t signs = 0;
  if (q.rotation.input) signs += q.rotation.input_signs.size() * 4;
  if (q.rotation.output) signs += q.rotation.output_signs.size() * 4;
  EXPECT_EQ(q.stored_bytes(), (q.weight.layout.code_words() + q.weight.layout.param_words()) * 4 + signs);

  const quant::ErrorWeights ew(cal.mean_square, rows, cols);
  const double err = quant::weighted_error(w, quant::effective_weight(q), rows, cols, ew);
  const double norm = quant::weighted_error(w, std::vector<float>(w.size(), 0.0f), rows, cols, ew);
  EXPECT_LT(err / norm, error_bound(m.fixed_bits ? 2 : c.bits)) << spec.describe();
}

INSTANTIATE_TEST_SUITE_P(AllMethods, MethodTable, ::testing::ValuesIn(all_cases()), case_name);

// Every row's default candidates are valid specs of the row, produced only where the calibration
// they need exists.
TEST(MethodTable, DefaultCandidatesComeFromTheRows) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const quant::Calibration cal = calibration_from(test::stats_of(test::correlated_inputs(256, 128, seed), 128, 64));
  for (const quant::Calibration* c : {static_cast<const quant::Calibration*>(nullptr), &cal}) {
    const std::vector<LinearSpec> specs = default_candidates(48, 128, c);
    for (const MethodInfo& m : all_methods()) {
      size_t n = 0;
      for (const LinearSpec& s : specs)
        if (s.method == m.method) {
          EXPECT_NO_THROW(validate(s)) << s.describe();
          ++n;
        }
      const bool available = m.needs == CalibrationNeed::None ? !(m.only_without_hessian && c) : c != nullptr;
      const size_t groups = m.candidate_groups.empty() ? 1 : m.candidate_groups.size();
      const size_t rotations = m.rotated_candidates ? 2 : 1;  // 48 and 128 are Hadamard sizes: plain and both
      EXPECT_EQ(n, available ? m.candidate_bits.size() * groups * rotations : 0u) << m.name << (c ? " with" : " without")
                                                                                   << " calibration";
    }
  }
}

TEST(MethodTable, NamesParseBackAndUnknownNamesListTheChoices) {
  for (const MethodInfo& m : all_methods()) EXPECT_EQ(parse_method(m.name), m.method);
  try {
    parse_method("nope");
    FAIL() << "parse_method accepted an unknown name";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(method_names()), std::string::npos) << e.what();
  }
}

}  // namespace
