// Recipe and snapshot JSON.
#include "inspect/recipe.h"

#include "quant/allocation.h"

namespace bitlens::inspect {

pipeline::Recipe session_recipe(const Snapshot& s) {
  pipeline::Recipe r;
  r.target_bpw = s.budget_bpw;
  for (const LayerRow& row : s.layers) {
    r.weights += uint64_t(row.rows) * row.cols;
    r.stored_bits += row.bits;
    r.layers.push_back({row.name, row.spec, false, row.bits, row.metrics.output_error});
  }
  r.budget_bits = s.budget_bpw > 0 ? quant::budget_bits(s.budget_bpw, r.weights) : 0;
  return r;
}

nlohmann::json snapshot_json(const Snapshot& s) {
  nlohmann::json j = nlohmann::json::parse(pipeline::recipe_json(session_recipe(s)));
  j["model"] = s.model_name;
  j["budget_bpw"] = s.budget_bpw;
  j["linear_bpw"] = s.linear_bpw;
  j["version"] = s.version;
  j["open"] = s.open;
  j["config"] = s.open ? s.config.describe() : "";
  j["calibration"] = s.calibration_source;
  j["selected"] = s.selected >= 0 ? s.layers[size_t(s.selected)].name : "";
  j["linear_bytes"] = s.linear_bytes;
  j["edits"] = s.edits;
  j["measured_layers"] = s.measured_layers;
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const LayerRow& row = s.layers[i];
    auto& l = j["layers"][i];
    l["spec"] = row.spec.describe();
    l["format"] = quant::format_info(row.spec.format()).name;
    l["bpw"] = row.bpw;
    l["rows"] = row.rows;
    l["cols"] = row.cols;
    l["weight_error"] = row.metrics.weight_error;
    l["output_error"] = row.metrics.output_error;
    l["saliency_error"] = row.metrics.saliency_error;
  }
  j["history"] = nlohmann::json::array();
  for (const HistoryEntry& h : s.history) j["history"].push_back(h.what);
  j["evals"] = nlohmann::json::array();
  for (const EvalPoint& e : s.evals)
    j["evals"].push_back({{"step", e.step}, {"what", e.what}, {"linear_bpw", e.linear_bpw}, {"kl", e.kl}, {"top1", e.top1}});
  return j;
}

}  // namespace bitlens::inspect
