// Recipe and snapshot JSON.
#include "inspect/recipe.h"

namespace bitlens::inspect {

namespace {

nlohmann::json choice_json(const LayerChoice& c) {
  nlohmann::json j = {{"format", quant::format_info(c.format).name}, {"rotate", c.rotate}};
  if (c.grouped()) j["group_size"] = c.group_size;
  return j;
}

}  // namespace

nlohmann::json recipe_json(const Snapshot& s) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerRow& r : s.layers) {
    nlohmann::json l = choice_json(r.choice);
    l["name"] = r.name;
    l["bpw"] = r.bpw;
    layers.push_back(std::move(l));
  }
  return {{"model", s.model_name}, {"budget_bpw", s.budget_bpw}, {"linear_bpw", s.linear_bpw}, {"layers", layers}};
}

nlohmann::json snapshot_json(const Snapshot& s) {
  nlohmann::json j = recipe_json(s);
  j["version"] = s.version;
  j["open"] = s.open;
  j["config"] = s.open ? s.config.describe() : "";
  j["calibration"] = s.calibration_source;
  j["selected"] = s.selected >= 0 ? s.layers[size_t(s.selected)].name : "";
  j["linear_bytes"] = s.linear_bytes;
  j["edits"] = s.edits;
  j["measured_layers"] = s.measured_layers;
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const LayerMetrics& m = s.layers[i].metrics;
    auto& l = j["layers"][i];
    l["rows"] = s.layers[i].rows;
    l["cols"] = s.layers[i].cols;
    l["weight_error"] = m.weight_error;
    l["output_error"] = m.output_error;
    l["saliency_error"] = m.saliency_error;
    l["output_sse"] = m.output_sse;
  }
  j["history"] = nlohmann::json::array();
  for (const HistoryEntry& h : s.history) j["history"].push_back(h.what);
  j["evals"] = nlohmann::json::array();
  for (const EvalPoint& e : s.evals)
    j["evals"].push_back({{"step", e.step}, {"what", e.what}, {"linear_bpw", e.linear_bpw}, {"kl", e.kl}, {"top1", e.top1}});
  return j;
}

}  // namespace bitlens::inspect
