// Measuring candidates and turning an allocation into a recipe.
#include "pipeline/layer_allocation.h"

#include <cstdio>

#include "common/error.h"
#include "quant/allocation.h"
#include "quant/hadamard.h"
#include "quant/metrics.h"

namespace bitlens::pipeline {

uint64_t layer_seed(const std::string& name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

double layer_error(std::span<const float> w, std::span<const float> w_eff, uint32_t rows, uint32_t cols,
                   const quant::Calibration* cal, std::span<const float> output_fisher) {
  // H = 2 E[x x^T]: output_error's per-output term is E[e_i^2], so half of it weighted by f_i.
  if (cal && cal->has_hessian() && !output_fisher.empty())
    return 0.5 * quant::output_error(w, w_eff, rows, cols, cal->hessian, output_fisher);
  if (!output_fisher.empty()) throw Error("layer_error: the output Fisher needs a calibration Hessian");
  if (cal && cal->has_hessian()) return quant::output_error(w, w_eff, rows, cols, cal->hessian);
  if (cal) return quant::weighted_error(w, w_eff, rows, cols, quant::ErrorWeights(cal->mean_square, rows, cols));
  return quant::weighted_error(w, w_eff, rows, cols);
}

std::vector<LinearSpec> default_candidates(uint32_t rows, uint32_t cols, const quant::Calibration* cal) {
  const bool hessian = cal && cal->has_hessian();
  const bool sample = cal && cal->sample_rows > 0;
  auto available = [&](const MethodInfo& m) {
    switch (m.needs) {
      case CalibrationNeed::None: return !(m.only_without_hessian && hessian);
      case CalibrationNeed::Hessian: return hessian;
      case CalibrationNeed::HessianAndSample: return hessian && sample;
    }
    return false;
  };
  auto add = [&](const MethodInfo& m, quant::RotationMode rot, std::vector<LinearSpec>& specs) {
    if (!available(m)) return;
    const std::vector<uint32_t> groups = m.candidate_groups.empty() ? std::vector<uint32_t>{LinearSpec{}.group_size}
                                                                    : m.candidate_groups;
    for (uint32_t bits : m.candidate_bits)
      for (uint32_t g : groups) specs.push_back({m.method, bits, g, rot});
  };
  std::vector<quant::RotationMode> rotations = {quant::RotationMode::None};
  if (quant::hadamard_supported(cols))
    rotations.push_back(quant::hadamard_supported(rows) ? quant::RotationMode::Both : quant::RotationMode::Input);
  std::vector<LinearSpec> specs;
  for (quant::RotationMode rot : rotations)
    for (const MethodInfo& m : all_methods())
      if (m.rotated_candidates) add(m, rot, specs);
  for (const MethodInfo& m : all_methods())
    if (!m.rotated_candidates) add(m, quant::RotationMode::None, specs);
  return specs;
}

LayerMeasurement measure_layer(const std::string& name, std::span<const float> w, uint32_t rows, uint32_t cols,
                               const quant::Calibration* cal, std::span<const LinearSpec> specs,
                               std::span<const float> output_fisher) {
  LayerMeasurement m;
  m.name = name;
  m.weights = uint64_t(rows) * cols;
  for (const LinearSpec& s : specs) {
    const quant::PackedLinear q = quantize_linear(w, rows, cols, cal, s, layer_seed(name));
    m.specs.push_back(s);
    m.bits.push_back(q.stored_bytes() * 8);
    m.errors.push_back(layer_error(w, quant::effective_weight(q), rows, cols, cal, output_fisher));
  }
  return m;
}

Recipe allocate_recipe(std::span<const LayerMeasurement> layers, double target_bpw, const Recipe* by_hand) {
  Recipe r;
  r.target_bpw = target_bpw;
  std::vector<quant::AllocationLayer> table(layers.size());
  uint64_t smallest = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    const LayerMeasurement& m = layers[l];
    if (m.specs.empty() || m.bits.size() != m.specs.size() || m.errors.size() != m.specs.size())
      throw Error("allocate_recipe: layer '" + m.name + "' has no complete measurements");
    r.weights += m.weights;
    uint64_t least = UINT64_MAX;
    for (size_t k = 0; k < m.specs.size(); ++k) {
      table[l].options.push_back({m.bits[k], m.errors[k]});
      least = std::min(least, m.bits[k]);
    }
    const RecipeLayer* fixed = by_hand ? by_hand->find(m.name) : nullptr;
    if (fixed && fixed->fixed) {
      for (size_t k = 0; k < m.specs.size(); ++k)
        if (m.specs[k] == fixed->spec) table[l].fixed = int32_t(k);
      if (table[l].fixed < 0)
        throw Error("allocate_recipe: layer '" + m.name + "' is fixed by hand to '" + fixed->spec.describe() +
                    "', which was not measured");
      least = m.bits[size_t(table[l].fixed)];
    }
    smallest += least;
  }
  r.budget_bits = quant::budget_bits(target_bpw, r.weights);
  const quant::Allocation a = quant::allocate(table, r.budget_bits);
  if (!a.feasible) {
    char msg[200];
    std::snprintf(msg, sizeof(msg), "a budget of %.4f bits per weight is below the smallest candidates (%.4f bpw)",
                  target_bpw, double(smallest) / double(r.weights));
    throw Error(msg);
  }
  for (size_t l = 0; l < layers.size(); ++l) {
    const uint32_t k = a.choice[l];
    r.layers.push_back({layers[l].name, layers[l].specs[k], table[l].fixed >= 0, layers[l].bits[k], layers[l].errors[k]});
  }
  r.stored_bits = a.bits;
  return r;
}

}  // namespace bitlens::pipeline
