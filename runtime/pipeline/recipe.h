// Quantization recipes: one entry per linear layer naming how it is quantized (a LinearSpec),
// whether it was fixed by hand (the allocator keeps it), and what the allocation measured for it.
// Stored as JSON:
//   {"bitlens_recipe": 1, "target_bpw": 2.5, "weights": ..., "budget_bits": ..., "stored_bits": ...,
//    "layers": [{"name": "layers.0.wq", "method": "gptq", "bits": 2, "group_size": 64,
//                "rotation": "both", "salient_fraction": 0.2, "fixed": true,
//                "stored_bits": 123, "error": 0.01}, ...]}
// Only "name" and "method" are required in a layer; the rest default to LinearSpec's defaults.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/quantize_linear.h"

namespace bitlens::pipeline {

struct RecipeLayer {
  std::string name;
  LinearSpec spec;
  bool fixed = false;        // chosen by hand: bit allocation keeps it
  uint64_t stored_bits = 0;  // measured: bits the layer stores (weights, parameters, signs)
  double error = 0.0;        // measured: the layer's error under the spec
};

struct Recipe {
  double target_bpw = 0.0;   // 0: no budget
  uint64_t weights = 0;      // weights of all layers
  uint64_t budget_bits = 0;  // floor(target_bpw * weights)
  uint64_t stored_bits = 0;  // sum of the layers' stored bits
  std::vector<RecipeLayer> layers;

  const RecipeLayer* find(std::string_view name) const;
};

// Throws FileError(source, problem) naming the layer and field at fault.
Recipe parse_recipe(const std::string& json, const std::string& source);
Recipe load_recipe(const std::string& path);
std::string recipe_json(const Recipe& recipe);
void save_recipe(const std::string& path, const Recipe& recipe);  // atomic

}  // namespace bitlens::pipeline
