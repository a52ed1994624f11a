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
#include "pipeline/layer_allocation.h"
#include "pipeline/recipe.h"

namespace bitlens::pipeline {

std::string linear_layer_name(uint32_t layer, model::Linear l);

// A layer's calibration from the streaming statistics of its input site.
quant::Calibration calibration_from(const calib::InputStats& stats);

// The calibration of a named layer, or null when there is none.
using CalibrationLookup = std::function<const quant::Calibration*(const std::string& name)>;

// Calibration of the block linears from a model's statistics: one Calibration per input site, made
// when first asked for and kept while consecutive layers share the site; a returned pointer stays
// valid until the lookup is asked for another site. Not thread-safe.
CalibrationLookup calibration_lookup(const calib::ModelStats& stats);

// Every block linear measured under default_candidates (calibration from `cal`, may be empty).
// progress(done, total) is called after each layer when given.
std::vector<LayerMeasurement> measure_model(const model::Model& m, const CalibrationLookup& cal,
                                            const std::function<void(size_t, size_t)>& progress = {});

// Where each block linear of quantize_model comes from: given the layer's name and the function
// that quantizes it, returns the layer (calling the function, or taking the layer from an earlier,
// interrupted run). May throw to stop the work (CancelledError).
using LinearSource =
    std::function<quant::PackedLinear(const std::string& name, const std::function<quant::PackedLinear()>& quantize)>;

// The block linears quantized as `recipe` says (every one must appear in it; rotations use
// layer_seed of the name), the embedding and classifier packed as `embedding` says. Each linear
// goes through `source` when given.
model::PackedModel quantize_model(const model::Model& m, const Recipe& recipe, const CalibrationLookup& cal,
                                  const model::PackOptions& embedding, const LinearSource& source = {});

}  // namespace bitlens::pipeline
