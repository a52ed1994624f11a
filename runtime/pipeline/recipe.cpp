// Recipe JSON reading and writing (nlohmann::json).
#include "pipeline/recipe.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file_io.h"
#include "common/json_input.h"

namespace bitlens::pipeline {

namespace {

using nlohmann::json;

constexpr int kRecipeVersion = 1;

const json& field(const json& j, const char* key, const std::string& where, const std::string& source) {
  if (!j.contains(key)) throw FileError(source, where + ": missing \"" + key + "\"");
  return j.at(key);
}

template <class T>
T number(const json& v, const std::string& what, const std::string& source) {
  if (!v.is_number()) throw FileError(source, what + " must be a number");
  if constexpr (std::is_unsigned_v<T>) {
    if (!v.is_number_unsigned()) throw FileError(source, what + " must be a non-negative integer");
  }
  return v.get<T>();
}

RecipeLayer parse_layer(const json& j, size_t index, const std::string& source) {
  const std::string where = "layer " + std::to_string(index);
  if (!j.is_object()) throw FileError(source, where + " is not an object");
  static const char* const known[] = {"name", "method", "bits", "group_size", "rotation", "salient_fraction",
                                      "fixed", "stored_bits", "error"};
  for (const auto& [key, value] : j.items())
    if (std::find(std::begin(known), std::end(known), key) == std::end(known))
      throw FileError(source, where + ": unknown field \"" + key + "\"");
  RecipeLayer l;
  const json& name = field(j, "name", where, source);
  if (!name.is_string() || name.get<std::string>().empty()) throw FileError(source, where + ": \"name\" must be a string");
  l.name = name.get<std::string>();
  const std::string at = "layer '" + l.name + "'";
  const json& method = field(j, "method", at, source);
  if (!method.is_string()) throw FileError(source, at + ": \"method\" must be a string");
  try {
    l.spec.method = parse_method(method.get<std::string>());
    if (j.contains("rotation")) {
      if (!j["rotation"].is_string()) throw FileError(source, at + ": \"rotation\" must be a string");
      l.spec.rotation = quant::parse_rotation_mode(j["rotation"].get<std::string>());
    }
  } catch (const FileError&) {
    throw;
  } catch (const Error& e) {
    throw FileError(source, at + ": " + e.what());
  }
  if (j.contains("bits")) l.spec.bits = number<uint32_t>(j["bits"], at + ": \"bits\"", source);
  if (j.contains("group_size")) l.spec.group_size = number<uint32_t>(j["group_size"], at + ": \"group_size\"", source);
  if (j.contains("salient_fraction"))
    l.spec.salient_fraction = number<double>(j["salient_fraction"], at + ": \"salient_fraction\"", source);
  if (j.contains("fixed")) {
    if (!j["fixed"].is_boolean()) throw FileError(source, at + ": \"fixed\" must be true or false");
    l.fixed = j["fixed"].get<bool>();
  }
  if (j.contains("stored_bits")) l.stored_bits = number<uint64_t>(j["stored_bits"], at + ": \"stored_bits\"", source);
  if (j.contains("error")) l.error = number<double>(j["error"], at + ": \"error\"", source);
  try {
    validate(l.spec);
  } catch (const Error& e) {
    throw FileError(source, at + ": " + e.what());
  }
  return l;
}

}  // namespace

const RecipeLayer* Recipe::find(std::string_view name) const {
  for (const auto& l : layers)
    if (l.name == name) return &l;
  return nullptr;
}

Recipe parse_recipe(const std::string& text, const std::string& source) {
  const json j = parse_json_input(text, source, "recipe");
  if (!j.is_object() || !j.contains("bitlens_recipe")) throw FileError(source, "not a bitlens recipe (no \"bitlens_recipe\" field)");
  if (j["bitlens_recipe"] != kRecipeVersion)
    throw FileError(source, "recipe version " + j["bitlens_recipe"].dump() + " is not supported (expected 1)");
  Recipe r;
  if (j.contains("target_bpw")) r.target_bpw = number<double>(j["target_bpw"], "\"target_bpw\"", source);
  if (r.target_bpw < 0.0) throw FileError(source, "\"target_bpw\" must not be negative");
  if (j.contains("weights")) r.weights = number<uint64_t>(j["weights"], "\"weights\"", source);
  if (j.contains("budget_bits")) r.budget_bits = number<uint64_t>(j["budget_bits"], "\"budget_bits\"", source);
  if (j.contains("stored_bits")) r.stored_bits = number<uint64_t>(j["stored_bits"], "\"stored_bits\"", source);
  const json& layers = field(j, "layers", "recipe", source);
  if (!layers.is_array()) throw FileError(source, "\"layers\" must be an array");
  for (size_t i = 0; i < layers.size(); ++i) {
    RecipeLayer l = parse_layer(layers[i], i, source);
    if (r.find(l.name)) throw FileError(source, "layer '" + l.name + "' appears twice");
    r.layers.push_back(std::move(l));
  }
  return r;
}

Recipe load_recipe(const std::string& path) { return parse_recipe(read_text_file(path), path); }

std::string recipe_json(const Recipe& r) {
  json j = json::object();
  j["bitlens_recipe"] = kRecipeVersion;
  j["target_bpw"] = r.target_bpw;
  j["weights"] = r.weights;
  j["budget_bits"] = r.budget_bits;
  j["stored_bits"] = r.stored_bits;
  json layers = json::array();
  for (const auto& l : r.layers) {
    json e = json::object();
    e["name"] = l.name;
    e["method"] = method_name(l.spec.method);
    e["bits"] = l.spec.bits;
    e["group_size"] = l.spec.group_size;
    e["rotation"] = quant::rotation_mode_name(l.spec.rotation);
    if (l.spec.method == Method::Ptq161) e["salient_fraction"] = l.spec.salient_fraction;
    e["fixed"] = l.fixed;
    e["stored_bits"] = l.stored_bits;
    e["error"] = l.error;
    layers.push_back(std::move(e));
  }
  j["layers"] = std::move(layers);
  return j.dump(2) + "\n";
}

void save_recipe(const std::string& path, const Recipe& r) { write_text_atomic(path, recipe_json(r)); }

}  // namespace bitlens::pipeline
