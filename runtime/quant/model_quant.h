// Whole-model quantization: measure every block linear under the candidate specs, and build the
// PackedModel a recipe describes. Block linears are named "layers.<i>.<wq|wk|wv|wo|w1|w2|w3>".
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "calib/model_stats.h"
#include "model/packed_model.h"
#include "model/weights.h"
#include "quant/layer_allocation.h"
#include "quant/recipe.h"

namespace bitlens::quant {

std::string linear_layer_name(uint32_t layer, model::Linear l);

// The calibration of a named layer, or null when there is none.
using CalibrationLookup = std::function<const Calibration*(const std::string& name)>;

// Calibration of the block linears from a model's statistics: one Calibration per input site, made
// when first asked for and kept while consecutive layers share the site; a returned pointer stays
// valid until the lookup is asked for another site. Not thread-safe.
CalibrationLookup calibration_lookup(const calib::ModelStats& stats);

// Every block linear measured under default_candidates (calibration from `cal`, may be empty).
// progress(done, total) is called after each layer when given.
std::vector<LayerMeasurement> measure_model(const model::Model& m, const CalibrationLookup& cal,
                                            const std::function<void(size_t, size_t)>& progress = {});

// The block linears quantized as `recipe` says (every one must appear in it; rotations use
// layer_seed of the name), the embedding and classifier packed as `embedding` says.
model::PackedModel quantize_model(const model::Model& m, const Recipe& recipe, const CalibrationLookup& cal,
                                  const model::PackOptions& embedding);

}  // namespace bitlens::quant
