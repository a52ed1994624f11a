// Measuring candidates and turning an allocation into a recipe.
#include "quant/layer_allocation.h"

#include <cstdio>

#include "common/error.h"
#include "quant/allocation.h"
#include "quant/hadamard.h"
#include "quant/metrics.h"

namespace bitlens::quant {

uint64_t layer_seed(const std::string& name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

double layer_error(std::span<const float> w, std::span<const float> w_eff, uint32_t rows, uint32_t cols,
                   const Calibration* cal, std::span<const float> output_fisher) {
  // H = 2 E[x x^T]: output_error's per-output term is E[e_i^2], so half of it weighted by f_i.
  if (cal && cal->has_hessian() && !output_fisher.empty())
    return 0.5 * output_error(w, w_eff, rows, cols, cal->hessian, output_fisher);
  if (!output_fisher.empty()) throw Error("layer_error: the output Fisher needs a calibration Hessian");
  if (cal && cal->has_hessian()) return output_error(w, w_eff, rows, cols, cal->hessian);
  if (cal) return weighted_error(w, w_eff, rows, cols, ErrorWeights(cal->mean_square, rows, cols));
  return weighted_error(w, w_eff, rows, cols);
}

std::vector<LinearSpec> default_candidates(uint32_t rows, uint32_t cols, const Calibration* cal) {
  const bool hessian = cal && cal->has_hessian();
  const bool sample = cal && cal->sample_rows > 0;
  std::vector<RotationMode> rotations = {RotationMode::None};
  if (hadamard_supported(cols)) rotations.push_back(hadamard_supported(rows) ? RotationMode::Both : RotationMode::Input);
  std::vector<LinearSpec> specs;
  for (RotationMode rot : rotations) {
    for (uint32_t bits : {2u, 3u, 4u, 8u})
      for (uint32_t g : {64u, 128u}) specs.push_back({hessian ? Method::Gptq : Method::Rtn, bits, g, rot});
    if (hessian)
      for (uint32_t bits : {2u, 3u})
        for (uint32_t g : {64u, 128u}) specs.push_back({Method::GptqClip, bits, g, rot});
    if (hessian) specs.push_back({Method::Ptq161, 1, 64, rot, 0.2});
    if (hessian && sample)
      for (uint32_t bits : {2u, 3u}) specs.push_back({Method::Slim, bits, 128, rot});
    specs.push_back({Method::Ternary, 2, 64, rot});
    specs.push_back({Method::TritPlane, 4, 64, rot});
  }
  specs.push_back({Method::Float, 16, 64});
  return specs;
}

LayerMeasurement measure_layer(const std::string& name, std::span<const float> w, uint32_t rows, uint32_t cols,
                               const Calibration* cal, std::span<const LinearSpec> specs,
                               std::span<const float> output_fisher) {
  LayerMeasurement m;
  m.name = name;
  m.weights = uint64_t(rows) * cols;
  for (const LinearSpec& s : specs) {
    const QuantizedLinear q = quantize_linear(w, rows, cols, cal, s, layer_seed(name));
    m.specs.push_back(s);
    m.bits.push_back(stored_bits(q));
    m.errors.push_back(layer_error(w, effective_weight(q), rows, cols, cal, output_fisher));
  }
  return m;
}

Recipe allocate_recipe(std::span<const LayerMeasurement> layers, double target_bpw, const Recipe* by_hand) {
  Recipe r;
  r.target_bpw = target_bpw;
  std::vector<AllocationLayer> table(layers.size());
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
  r.budget_bits = budget_bits(target_bpw, r.weights);
  const Allocation a = allocate(table, r.budget_bits);
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

}  // namespace bitlens::quant
