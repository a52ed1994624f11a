// Candidate measurements on disk, so that budgeted allocations at several targets reuse one
// (expensive) measurement of every candidate of every layer. JSON:
//   {"bitlens_measurements": 1, "calibration": "<where the calibration came from>",
//    "layers": [{"name": "layers.0.wq", "weights": 82944,
//                "candidates": [<recipe layer: method, bits, ..., stored_bits, error>, ...]}, ...]}
// Each candidate is stored as a recipe layer (recipe.h) and parsed with the recipe's checks.
#pragma once

#include <string>
#include <vector>

#include "pipeline/layer_allocation.h"

namespace bitlens::pipeline {

struct MeasurementFile {
  std::string calibration;  // the calibration the errors were measured with
  std::vector<LayerMeasurement> layers;
};

void save_measurements(const std::string& path, const MeasurementFile& m);  // atomic
// Throws FileError naming the file and the problem (bad JSON, a bad candidate, no candidates).
MeasurementFile load_measurements(const std::string& path);

}  // namespace bitlens::pipeline
