// Layer-by-layer measurement and quantization of a model.
#include "pipeline/model_quant.h"

#include <memory>

#include "common/error.h"

namespace bitlens::pipeline {

std::string linear_layer_name(uint32_t layer, model::Linear l) {
  return "layers." + std::to_string(layer) + "." + model::linear_name(l);
}

quant::Calibration calibration_from(const calib::InputStats& stats) {
  quant::Calibration c;
  c.cols = stats.features();
  if (stats.has_hessian() && stats.tokens() > 0) c.hessian = stats.hessian();
  c.mean_square = stats.mean_square();
  c.sample = stats.sample();
  c.sample_rows = stats.sample_count();
  return c;
}

CalibrationLookup calibration_lookup(const calib::ModelStats& stats) {
  struct Cache {
    std::string key;
    quant::Calibration cal;
  };
  auto cache = std::make_shared<Cache>();
  return [&stats, cache](const std::string& name) -> const quant::Calibration* {
    for (uint32_t i = 0; i < stats.layers(); ++i)
      for (uint32_t k = 0; k < model::kLinearsPerLayer; ++k) {
        if (linear_layer_name(i, model::Linear(k)) != name) continue;
        const calib::InputSite site = calib::input_site(model::Linear(k));
        const std::string key = std::to_string(i) + "/" + std::to_string(uint32_t(site));
        if (cache->key != key) {
          cache->cal = calibration_from(stats.at(i, site));
          cache->key = key;
        }
        return &cache->cal;
      }
    return nullptr;
  };
}

std::vector<LayerMeasurement> measure_model(const model::Model& m, const CalibrationLookup& cal,
                                            const std::function<void(size_t, size_t)>& progress) {
  std::vector<LayerMeasurement> out;
  const size_t total = m.weights.layers.size() * model::kLinearsPerLayer;
  for (uint32_t i = 0; i < m.weights.layers.size(); ++i)
    for (uint32_t k = 0; k < model::kLinearsPerLayer; ++k) {
      const std::string name = linear_layer_name(i, model::Linear(k));
      const model::Matrix& w = m.weights.layers[i].linear(model::Linear(k));
      const quant::Calibration* c = cal ? cal(name) : nullptr;
      const std::vector<LinearSpec> specs = default_candidates(w.rows, w.cols, c);
      out.push_back(measure_layer(name, w.span(), w.rows, w.cols, c, specs));
      if (progress) progress(out.size(), total);
    }
  return out;
}

model::PackedModel quantize_model(const model::Model& m, const Recipe& recipe, const CalibrationLookup& cal,
                                  const model::PackOptions& embedding, const LinearSource& source) {
  model::PackedModel p;
  p.config = m.config;
  const auto& w = m.weights;
  p.token_embedding = model::pack_matrix(w.token_embedding, embedding.embedding_format, embedding.embedding_group_size);
  if (w.classifier.data != w.token_embedding.data)
    p.classifier = model::pack_matrix(w.classifier, embedding.embedding_format, embedding.embedding_group_size);
  for (uint32_t i = 0; i < w.layers.size(); ++i) {
    const model::LayerWeights& lw = w.layers[i];
    model::PackedLayer l;
    l.rms_att.assign(lw.rms_att.span().begin(), lw.rms_att.span().end());
    l.rms_ffn.assign(lw.rms_ffn.span().begin(), lw.rms_ffn.span().end());
    for (uint32_t k = 0; k < model::kLinearsPerLayer; ++k) {
      const std::string name = linear_layer_name(i, model::Linear(k));
      const RecipeLayer* entry = recipe.find(name);
      if (!entry) throw Error("quantize_model: the recipe has no entry for layer '" + name + "'");
      const model::Matrix& wm = lw.linear(model::Linear(k));
      const quant::Calibration* c = cal ? cal(name) : nullptr;
      const auto quantize = [&] {
        return quantize_linear(wm.span(), wm.rows, wm.cols, c, entry->spec, layer_seed(name));
      };
      l.linears[k] = source ? source(name, quantize) : quantize();
    }
    p.layers.push_back(std::move(l));
  }
  p.rms_final.assign(w.rms_final.span().begin(), w.rms_final.span().end());
  return p;
}

}  // namespace bitlens::pipeline
