// `bitlens quantize`: calibrate a model on text (captured through the CPU forward pass), choose
// each linear layer's quantization (one spec for all, a recipe, or a budgeted allocation at a
// target bits-per-weight), quantize, and write a .blq container; optionally evaluate the result
// against the fp32 model (mean KL, top-1 agreement on Moby Dick, llama.cpp's protocol).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <memory>
#include <sstream>

#include "calib/capture.h"
#include "cli/cli.h"
#include "common/error.h"
#include "common/file_io.h"
#include "eval/corpus.h"
#include "eval/perplexity.h"
#include "model/container.h"
#include "model/cpu_forward.h"
#include "model/float_model.h"
#include "quant/model_quant.h"

namespace bitlens::cli {

namespace {

struct QuantizeOptions {
  std::string model, tokenizer, output, recipe, save_recipe, json, calib_text, data_dir = "data";
  std::string method = "gptq", rotation = "none", embedding = "q8", candidates = "all";
  uint32_t bits = 4, group = 64, embedding_group = 64, calib_tokens = 16384, eval_windows = 0;
  double target_bpw = 0.0, salient = 0.2;
  uint64_t calib_seed = 4321;
};

// Calibration statistics from --calib-text, else from stories sampled from the model itself.
calib::ModelStats calibrate(const QuantizeOptions& o, const LoadedModel& lm, std::string& source) {
  model::CpuForward forward(lm.model);
  std::string text;
  if (!o.calib_text.empty()) {
    text = read_text_file(o.calib_text);
    source = o.calib_text;
  } else {
    ProgressBar bar("sampling calibration text");
    text = eval::sampled_text(forward, lm.tokenizer, o.calib_tokens, o.calib_seed,
                              [&](uint32_t d, uint32_t t) { bar.update(d, t); });
    source = "stories sampled from the model (seed " + std::to_string(o.calib_seed) + ")";
  }
  const std::vector<uint32_t> tokens = lm.tokenizer.encode(text, false, false);
  const auto seqs = calib::calibration_sequences(tokens, lm.tokenizer.bos(), lm.model.config.seq_len, o.calib_tokens);
  calib::ModelStats stats(lm.model.config);
  ProgressBar bar("capturing activations");
  calib::capture(forward, seqs, stats, [&](size_t d, size_t t) { bar.update(d, t); });
  return stats;
}

// The candidates of --candidates: every default one, or those of the listed methods.
std::vector<quant::LayerMeasurement> measure(const QuantizeOptions& o, const model::Model& m,
                                             const quant::CalibrationLookup& cal) {
  std::vector<quant::Method> keep;
  if (o.candidates != "all") {
    std::stringstream ss(o.candidates);
    for (std::string name; std::getline(ss, name, ',');) keep.push_back(quant::parse_method(name));
  }
  ProgressBar bar("measuring candidates");
  std::vector<quant::LayerMeasurement> out;
  for (uint32_t i = 0; i < m.weights.layers.size(); ++i)
    for (uint32_t k = 0; k < model::kLinearsPerLayer; ++k) {
      const std::string name = quant::linear_layer_name(i, model::Linear(k));
      const model::Matrix& w = m.weights.layers[i].linear(model::Linear(k));
      std::vector<quant::LinearSpec> specs;
      for (const auto& s : quant::default_candidates(w.rows, w.cols, cal(name)))
        if (keep.empty() || std::find(keep.begin(), keep.end(), s.method) != keep.end() || s.method == quant::Method::Float)
          specs.push_back(s);
      out.push_back(quant::measure_layer(name, w.span(), w.rows, w.cols, cal(name), specs));
      bar.update(out.size(), m.weights.layers.size() * model::kLinearsPerLayer);
    }
  return out;
}

// The spec of --method, --bits, --group, --rotation, --salient (checked before any work).
quant::LinearSpec uniform_spec(const QuantizeOptions& o) {
  const quant::LinearSpec spec{quant::parse_method(o.method), o.bits, o.group, quant::parse_rotation_mode(o.rotation),
                               o.salient};
  quant::validate(spec);
  return spec;
}

quant::Recipe choose_recipe(const QuantizeOptions& o, const quant::Recipe& hand, const model::Model& m,
                            const quant::CalibrationLookup& cal) {
  if (o.target_bpw > 0.0) return quant::allocate_recipe(measure(o, m, cal), o.target_bpw, &hand);
  if (!o.recipe.empty()) return hand;
  const quant::LinearSpec spec = uniform_spec(o);
  quant::Recipe r;
  for (uint32_t i = 0; i < m.weights.layers.size(); ++i)
    for (uint32_t k = 0; k < model::kLinearsPerLayer; ++k) r.layers.push_back({quant::linear_layer_name(i, model::Linear(k)), spec});
  return r;
}

void evaluate(const QuantizeOptions& o, const LoadedModel& lm, const model::PackedModel& packed, nlohmann::json& report) {
  eval::WindowOptions w;
  w.window_len = std::min(256u, lm.model.config.seq_len);
  w.max_windows = o.eval_windows;
  w.score_second_half = true;
  const std::vector<uint32_t> tokens = lm.tokenizer.encode(eval::moby_dick_text(o.data_dir + "/texts/moby-dick"), true, false);
  const auto windows = eval::make_windows(tokens, lm.tokenizer.bos(), w);
  model::CpuForward ref(lm.model), test(model::to_float_model(packed));
  ProgressBar bar("evaluating");
  const eval::CompareResult r = eval::compare(ref, test, windows, w, [&](uint32_t d, uint32_t t) { bar.update(d, t); });
  bar.finish();
  std::cout << "Moby Dick 1-20, " << windows.size() << " windows: mean KL " << format_fixed(r.mean_kl(), 4)
            << ", top-1 agreement " << format_fixed(100.0 * r.top1_agreement(), 2) << "%, perplexity "
            << format_fixed(r.test.perplexity(), 2) << " (fp32 " << format_fixed(r.reference.perplexity(), 2) << ")\n";
  report["eval"] = {{"windows", windows.size()}, {"mean_kl", r.mean_kl()}, {"top1_agreement", r.top1_agreement()},
                    {"perplexity", r.test.perplexity()}, {"reference_perplexity", r.reference.perplexity()}};
}

void quantize(const QuantizeOptions& o) {
  if (o.output.empty() && o.eval_windows == 0 && o.save_recipe.empty())
    throw Error("quantize needs -o FILE, --save-recipe FILE or --eval N");
  const quant::Recipe hand = o.recipe.empty() ? quant::Recipe{} : quant::load_recipe(o.recipe);
  if (o.target_bpw <= 0.0 && o.recipe.empty()) uniform_spec(o);
  const quant::Format embedding = quant::parse_format(o.embedding);
  const LoadedModel lm = load_model_with_tokenizer(o.model, o.tokenizer);
  std::string calib_source;
  const calib::ModelStats stats = calibrate(o, lm, calib_source);
  const quant::CalibrationLookup cal = quant::calibration_lookup(stats);
  quant::Recipe recipe = choose_recipe(o, hand, lm.model, cal);
  const model::PackedModel packed =
      quant::quantize_model(lm.model, recipe, cal, {quant::Format::F32, 64, embedding, o.embedding_group});
  recipe.weights = recipe.stored_bits = 0;
  for (size_t i = 0; i < packed.layers.size(); ++i)
    for (const auto& lin : packed.layers[i].linears) {
      recipe.weights += uint64_t(lin.weight.layout.rows) * lin.weight.layout.cols;
      recipe.stored_bits += lin.stored_bytes() * 8;
    }
  std::cout << "linear layers " << format_fixed(packed.linear_bpw(), 4) << " bpw, whole model "
            << format_fixed(packed.model_bpw(), 4) << " bpw, " << packed.stored_bytes() << " bytes\n";
  nlohmann::json report = {{"model", o.model},
                           {"linear_bpw", packed.linear_bpw()},
                           {"model_bpw", packed.model_bpw()},
                           {"stored_bytes", packed.stored_bytes()},
                           {"calibration", {{"source", calib_source}, {"tokens", stats.at(0, calib::InputSite::AttentionIn).tokens()}}},
                           {"recipe", nlohmann::json::parse(quant::recipe_json(recipe))}};
  if (!o.save_recipe.empty()) quant::save_recipe(o.save_recipe, recipe);
  if (!o.output.empty()) {
    model::write_container(o.output, packed, {report["recipe"], report["calibration"]});
    std::cout << "wrote " << o.output << "\n";
  }
  if (o.eval_windows) evaluate(o, lm, packed, report);
  if (o.json == "-") std::cout << report.dump(2) << "\n";
  else if (!o.json.empty()) write_text_atomic(o.json, report.dump(2) + "\n");
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto o = std::make_shared<QuantizeOptions>();
  CLI::App* cmd = app.add_subcommand("quantize", "Calibrate, choose each layer's quantization (one spec, a recipe, or "
                                                 "a budgeted allocation) and write a .blq container");
  cmd->add_option("model", o->model, "Model file (llama2.c .bin or GGUF)")->required();
  cmd->add_option("-o,--output", o->output, "Output container (.blq)");
  cmd->add_option("--tokenizer", o->tokenizer, "Tokenizer file (default: the GGUF's own, or tokenizer.bin beside the model)");
  cmd->add_option("--target-bpw", o->target_bpw, "Budgeted allocation: measure every candidate of every linear layer and "
                                                 "meet this bits-per-weight over the linear layers");
  cmd->add_option("--recipe", o->recipe, "Recipe JSON: the layers it fixes by hand (with --target-bpw), or every layer");
  cmd->add_option("--candidates", o->candidates, "Methods measured for --target-bpw: all, or a list like gptq,slim")->capture_default_str();
  cmd->add_option("--method", o->method, "One method for every layer: rtn, clip, gptq, slim, ptq161, ternary, tritplane, float")->capture_default_str();
  cmd->add_option("--bits", o->bits, "Bits of --method (2, 3, 4, 8; slim: mean 2 or 3)")->capture_default_str();
  cmd->add_option("--group", o->group, "Group size of --method (32, 64, 128)")->capture_default_str();
  cmd->add_option("--rotation", o->rotation, "Hadamard rotation of --method: none, input or both")->capture_default_str();
  cmd->add_option("--salient", o->salient, "Salient column fraction of ptq161")->capture_default_str();
  cmd->add_option("--embedding", o->embedding, "Format of the embedding/classifier")->capture_default_str();
  cmd->add_option("--embedding-group", o->embedding_group, "Group size of the embedding format")->capture_default_str();
  cmd->add_option("--calib-text", o->calib_text, "Calibration text file (default: stories sampled from the model)");
  cmd->add_option("--calib-tokens", o->calib_tokens, "Calibration tokens")->capture_default_str();
  cmd->add_option("--calib-seed", o->calib_seed, "Seed of the sampled calibration text")->capture_default_str();
  cmd->add_option("--save-recipe", o->save_recipe, "Write the recipe used (with bits and errors) to this file");
  cmd->add_option("--eval", o->eval_windows, "Compare with the fp32 model on this many Moby Dick windows (0: no)")->capture_default_str();
  cmd->add_option("--data", o->data_dir, "Data folder of the fetched texts")->capture_default_str();
  cmd->add_option("--json", o->json, "Write a JSON report to this file (- for stdout)");
  cmd->callback([o] { quantize(*o); });
}

}  // namespace bitlens::cli
