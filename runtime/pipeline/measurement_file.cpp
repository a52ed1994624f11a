// Reading and writing candidate measurements (nlohmann::json; candidates as recipe layers).
#include "pipeline/measurement_file.h"

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file_io.h"

namespace bitlens::pipeline {

namespace {

using nlohmann::json;

constexpr int kVersion = 1;

json candidate_json(const LayerMeasurement& m, size_t i) {
  Recipe r;
  r.layers.push_back({m.name, m.specs[i], false, m.bits[i], m.errors[i]});
  return json::parse(recipe_json(r))["layers"][0];
}

LayerMeasurement parse_layer(const json& j, size_t index, const std::string& path) {
  const std::string where = "layer " + std::to_string(index);
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string() || !j.contains("weights") ||
      !j["weights"].is_number_unsigned() || !j.contains("candidates") || !j["candidates"].is_array() ||
      j["candidates"].empty())
    throw FileError(path, where + " needs \"name\", \"weights\" and a non-empty \"candidates\" array");
  LayerMeasurement m;
  m.name = j["name"].get<std::string>();
  m.weights = j["weights"].get<uint64_t>();
  // The candidates are recipe layers: the recipe parser checks every field.
  const json as_recipe = {{"bitlens_recipe", 1}, {"layers", json::array()}};
  for (const json& c : j["candidates"]) {
    json one = as_recipe;
    one["layers"].push_back(c);
    const Recipe r = parse_recipe(one.dump(), path);
    const RecipeLayer& l = r.layers[0];
    if (l.name != m.name) throw FileError(path, where + ": a candidate of '" + m.name + "' is named '" + l.name + "'");
    m.specs.push_back(l.spec);
    m.bits.push_back(l.stored_bits);
    m.errors.push_back(l.error);
  }
  return m;
}

}  // namespace

void save_measurements(const std::string& path, const MeasurementFile& f) {
  json layers = json::array();
  for (const LayerMeasurement& m : f.layers) {
    json c = json::array();
    for (size_t i = 0; i < m.specs.size(); ++i) c.push_back(candidate_json(m, i));
    layers.push_back({{"name", m.name}, {"weights", m.weights}, {"candidates", std::move(c)}});
  }
  const json j = {{"bitlens_measurements", kVersion}, {"calibration", f.calibration}, {"layers", std::move(layers)}};
  write_text_atomic(path, j.dump(1) + "\n");
}

MeasurementFile load_measurements(const std::string& path) {
  json j;
  try {
    j = json::parse(read_text_file(path));
  } catch (const json::parse_error& e) {
    throw FileError(path, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object() || !j.contains("bitlens_measurements") || j["bitlens_measurements"] != kVersion || !j.contains("layers") ||
      !j["layers"].is_array() || !j.contains("calibration") || !j["calibration"].is_string())
    throw FileError(path, "not a bitlens measurement file (version 1 with \"calibration\" and \"layers\")");
  MeasurementFile f;
  f.calibration = j["calibration"].get<std::string>();
  for (size_t i = 0; i < j["layers"].size(); ++i) f.layers.push_back(parse_layer(j["layers"][i], i, path));
  return f;
}

}  // namespace bitlens::pipeline
