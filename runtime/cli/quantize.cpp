// `bitlens quantize`: calibrate a model on text (captured through the CPU forward pass), choose
// each linear layer's quantization (one spec for all, a recipe, or a budgeted allocation at a
// target bits-per-weight), quantize, and write a .blq container; optionally evaluate the result
// against the fp32 model (mean KL, top-1 agreement on Moby Dick, llama.cpp's protocol). The ApiQ
// methods (quantize_apiq.h) train every layer instead, at one spec or at the bits and group sizes a
// budgeted GPTQ allocation chose (the budget less what the LoRA factors take).
// Ctrl-C stops it with no output written; finished steps are kept and a rerun resumes
// (quantize_checkpoint.h).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "calib/capture.h"
#include "cli/cli.h"
#include "cli/quantize_apiq.h"
#include "cli/quantize_checkpoint.h"
#include "common/cancel.h"
#include "common/error.h"
#include "common/file_io.h"
#include "eval/corpus.h"
#include "eval/perplexity.h"
#include "model/container.h"
#include "model/cpu_forward.h"
#include "model/float_model.h"
#include "model/model_loader.h"
#include "pipeline/measurement_file.h"
#include "pipeline/model_quant.h"
#include "train/output_fisher.h"

namespace bitlens::cli {

namespace {

struct QuantizeOptions {
  std::string model, tokenizer, output, recipe, save_recipe, json, calib_text, measurements, data_dir = "data";
  std::string method = "gptq", rotation = "none", embedding = "q8", candidates = "all", objective = "fisher";
  uint32_t bits = 4, group = 64, embedding_group = 64, calib_tokens = 16384, eval_windows = 0, fisher_tokens = 4096;
  double target_bpw = 0.0, salient = 0.2;
  uint64_t calib_seed = 4321;
  ApiqCommandOptions apiq;
};

// The calibration sequences: --calib-text, else stories sampled from the model itself.
std::vector<std::vector<uint32_t>> calibration_set(const QuantizeOptions& o, const LoadedModel& lm,
                                                   model::CpuForward& forward, QuantizeCheckpoint& ck,
                                                   std::string& source) {
  std::string text;
  if (!o.calib_text.empty()) {
    text = read_text_file(o.calib_text);
    source = o.calib_text;
  } else {
    text = ck.text("calibration", [&] {
      ProgressBar bar("sampling calibration text");
      return eval::sampled_text(forward, lm.tokenizer, o.calib_tokens, o.calib_seed, [&](uint32_t d, uint32_t t) {
        ck.check("sampling calibration text");
        bar.update(d, t);
      });
    });
    source = "stories sampled from the model (seed " + std::to_string(o.calib_seed) + ")";
  }
  const std::vector<uint32_t> tokens = lm.tokenizer.encode(text, false, false);
  return calib::calibration_sequences(tokens, lm.tokenizer.bos(), lm.model.config.seq_len, o.calib_tokens);
}

// Calibration statistics of the calibration sequences.
calib::ModelStats calibrate(model::CpuForward& forward, const std::vector<std::vector<uint32_t>>& seqs,
                            QuantizeCheckpoint& ck) {
  calib::ModelStats stats(forward.config());
  ProgressBar bar("capturing activations");
  calib::capture(forward, seqs, stats, [&](size_t d, size_t t) {
    ck.check("capturing activations");
    bar.update(d, t);
  });
  return stats;
}

// The output Fisher of every block linear over the first --fisher-tokens tokens of the calibration
// sequences (whole sequences, at least one).
train::OutputFisher fisher(const QuantizeOptions& o, const model::Model& m, const std::vector<std::vector<uint32_t>>& seqs,
                           QuantizeCheckpoint& ck) {
  std::vector<std::vector<uint32_t>> use;
  size_t tokens = 0;
  for (const auto& seq : seqs) {
    if (!use.empty() && tokens >= o.fisher_tokens) break;
    use.push_back(seq);
    tokens += seq.size();
  }
  ProgressBar bar("output Fisher (backward passes)");
  return train::output_fisher(m, use, [&](size_t d, size_t t) {
    ck.check("computing the output Fisher");
    bar.update(d, t);
  });
}

// The candidates of --candidates: every default one, or those of the listed methods; for ApiQ the
// unrotated GPTQ ones (the training starts from a plain group format). Errors are weighted by the
// output Fisher with --objective fisher.
std::vector<pipeline::LayerMeasurement> measure(const QuantizeOptions& o, const model::Model& m,
                                             const std::vector<std::vector<uint32_t>>& seqs,
                                             const pipeline::CalibrationLookup& cal, QuantizeCheckpoint& ck) {
  std::optional<train::OutputFisher> f;  // made when the first layer is measured, not when all are kept
  std::vector<pipeline::Method> keep;
  const bool apiq = is_apiq_method(o.method);
  if (apiq) keep = {pipeline::Method::Gptq};
  else if (o.candidates != "all") {
    std::stringstream ss(o.candidates);
    for (std::string name; std::getline(ss, name, ',');) keep.push_back(pipeline::parse_method(name));
  }
  ProgressBar bar("measuring candidates");
  std::vector<pipeline::LayerMeasurement> out;
  for (uint32_t i = 0; i < m.weights.layers.size(); ++i)
    for (uint32_t k = 0; k < model::kLinearsPerLayer; ++k) {
      const std::string name = pipeline::linear_layer_name(i, model::Linear(k));
      const model::Matrix& w = m.weights.layers[i].linear(model::Linear(k));
      std::vector<pipeline::LinearSpec> specs;
      for (const auto& s : pipeline::default_candidates(w.rows, w.cols, cal(name)))
        if (apiq ? s.method == pipeline::Method::Gptq && s.rotation == quant::RotationMode::None
                 : keep.empty() || std::find(keep.begin(), keep.end(), s.method) != keep.end() || s.method == pipeline::Method::Float)
          specs.push_back(s);
      out.push_back(ck.measurement(name, [&] {
        if (o.objective == "fisher" && !f) f = fisher(o, m, seqs, ck);
        const std::span<const float> weight = f ? f->at(i, model::Linear(k)) : std::span<const float>{};
        return pipeline::measure_layer(name, w.span(), w.rows, w.cols, cal(name), specs, weight);
      }));
      bar.update(out.size(), m.weights.layers.size() * model::kLinearsPerLayer);
    }
  return out;
}

// The spec of --method, --bits, --group, --rotation, --salient (checked before any work).
pipeline::LinearSpec uniform_spec(const QuantizeOptions& o) {
  const pipeline::LinearSpec spec{pipeline::parse_method(o.method), o.bits, o.group, quant::parse_rotation_mode(o.rotation),
                               o.salient};
  pipeline::validate(spec);
  return spec;
}

// measure(), or the measurements of --measurements FILE when it exists (taken with the same
// calibration, candidates and objective), else measure() saved there.
std::vector<pipeline::LayerMeasurement> measurements(const QuantizeOptions& o, const model::Model& m,
                                                  const std::vector<std::vector<uint32_t>>& seqs,
                                                  const pipeline::CalibrationLookup& cal, const std::string& calibration,
                                                  QuantizeCheckpoint& ck) {
  std::string key = calibration + "; candidates " + (is_apiq_method(o.method) ? "apiq" : o.candidates) + "; objective " +
                    o.objective;
  if (o.objective == "fisher") key += " over " + std::to_string(o.fisher_tokens) + " tokens";
  if (o.measurements.empty()) return measure(o, m, seqs, cal, ck);
  if (file_exists(o.measurements)) {
    pipeline::MeasurementFile f = pipeline::load_measurements(o.measurements);
    if (f.calibration != key)
      throw FileError(o.measurements, "measured with '" + f.calibration + "', not with '" + key + "'");
    return std::move(f.layers);
  }
  pipeline::MeasurementFile f{key, measure(o, m, seqs, cal, ck)};
  pipeline::save_measurements(o.measurements, f);
  return std::move(f.layers);
}

pipeline::Recipe choose_recipe(const QuantizeOptions& o, const pipeline::Recipe& hand, const model::Model& m,
                            const std::vector<std::vector<uint32_t>>& seqs, const pipeline::CalibrationLookup& cal,
                            const std::string& calibration, QuantizeCheckpoint& ck) {
  if (o.target_bpw > 0.0 && is_apiq_method(o.method)) {
    const double lora = lora_bpw(m.config, o.apiq.rank);
    if (o.target_bpw <= lora) throw Error("--target-bpw does not cover the LoRA factors of rank " + std::to_string(o.apiq.rank));
    return pipeline::allocate_recipe(measurements(o, m, seqs, cal, calibration, ck), o.target_bpw - lora, &hand);
  }
  if (o.target_bpw > 0.0) return pipeline::allocate_recipe(measurements(o, m, seqs, cal, calibration, ck), o.target_bpw, &hand);
  if (!o.recipe.empty()) return hand;
  const pipeline::LinearSpec spec = uniform_spec(o);
  pipeline::Recipe r;
  for (uint32_t i = 0; i < m.weights.layers.size(); ++i)
    for (uint32_t k = 0; k < model::kLinearsPerLayer; ++k) r.layers.push_back({pipeline::linear_layer_name(i, model::Linear(k)), spec});
  return r;
}

void evaluate(const QuantizeOptions& o, const LoadedModel& lm, const model::PackedModel& packed, const Cancellation& cancel,
              nlohmann::json& report) {
  eval::WindowOptions w;
  w.window_len = std::min(256u, lm.model.config.seq_len);
  w.max_windows = o.eval_windows;
  w.score_second_half = true;
  const std::vector<uint32_t> tokens = lm.tokenizer.encode(eval::moby_dick_text(o.data_dir + "/texts/moby-dick"), true, false);
  const auto windows = eval::make_windows(tokens, lm.tokenizer.bos(), w);
  model::CpuForward ref(lm.model), test(model::to_float_model(packed));
  ProgressBar bar("evaluating");
  const eval::CompareResult r = eval::compare(ref, test, windows, w, [&](uint32_t d, uint32_t t) {
    cancel.check("evaluating");
    bar.update(d, t);
  });
  bar.finish();
  std::cout << "Moby Dick 1-20, " << windows.size() << " windows: mean KL " << format_fixed(r.mean_kl(), 4)
            << ", top-1 agreement " << format_fixed(100.0 * r.top1_agreement(), 2) << "%, perplexity "
            << format_fixed(r.test.perplexity(), 2) << " (fp32 " << format_fixed(r.reference.perplexity(), 2) << ")\n";
  report["eval"] = {{"windows", windows.size()}, {"mean_kl", r.mean_kl()}, {"top1_agreement", r.top1_agreement()},
                    {"perplexity", r.test.perplexity()}, {"reference_perplexity", r.reference.perplexity()}};
}

// Bits and group size of every linear from a recipe of group-format specs, [layer][linear].
std::vector<std::array<train::ApiqOptions::LinearQuant, model::kLinearsPerLayer>> recipe_bits(const pipeline::Recipe& r,
                                                                                               uint32_t n_layers) {
  std::vector<std::array<train::ApiqOptions::LinearQuant, model::kLinearsPerLayer>> q(n_layers);
  for (uint32_t i = 0; i < n_layers; ++i)
    for (uint32_t k = 0; k < model::kLinearsPerLayer; ++k) {
      const std::string name = pipeline::linear_layer_name(i, model::Linear(k));
      const pipeline::RecipeLayer* l = r.find(name);
      if (!l || (l->spec.method != pipeline::Method::Gptq && l->spec.method != pipeline::Method::Rtn) ||
          l->spec.rotation != quant::RotationMode::None)
        throw Error("apiq: layer " + name + " needs an unrotated rtn or gptq spec in the recipe");
      q[i][k] = {l->spec.bits, l->spec.group_size};
    }
  return q;
}

// The ApiQ model at --bits/--group, or at the bits a recipe or budget gives each layer; `recipe`
// gets the group formats trained (as rtn specs: a bit plan --recipe can take back).
model::PackedModel train_apiq(const QuantizeOptions& o, const pipeline::Recipe& hand, const model::Model& m,
                              const std::vector<std::vector<uint32_t>>& seqs, const pipeline::CalibrationLookup& cal,
                              const std::string& calibration, QuantizeCheckpoint& ck, const Cancellation& cancel,
                              quant::Format embedding, pipeline::Recipe& recipe, nlohmann::json& report) {
  const auto bits = o.target_bpw > 0.0 || !o.recipe.empty()
                        ? recipe_bits(choose_recipe(o, hand, m, seqs, cal, calibration, ck), m.config.n_layers)
                        : std::vector<std::array<train::ApiqOptions::LinearQuant, model::kLinearsPerLayer>>{};
  model::PackedModel packed =
      apiq_model(m, seqs, o.apiq, o.bits, o.group, bits, embedding, o.embedding_group, cancel, report);
  for (uint32_t i = 0; i < packed.layers.size(); ++i)
    for (uint32_t k = 0; k < model::kLinearsPerLayer; ++k) {
      const auto& q = packed.layers[i].linears[k].weight.layout;
      recipe.layers.push_back({pipeline::linear_layer_name(i, model::Linear(k)),
                               {pipeline::Method::Rtn, quant::format_info(q.format).bits, q.group_size}});
    }
  recipe.target_bpw = o.target_bpw;
  return packed;
}

// Everything the output depends on: a rerun resumes only when this is unchanged.
std::string job_key(const QuantizeOptions& o, const LoadedModel& lm) {
  const auto file = [](const std::string& path) { return path.empty() ? std::string("-") : file_fingerprint(path); };
  std::ostringstream k;
  k << "bitlens quantize checkpoint 1\nmodel " << file(o.model) << "\ntokenizer "
    << file(model::tokenizer_path_for(lm.model, o.tokenizer)) << "\nrecipe " << file(o.recipe) << "\ncalib-text "
    << file(o.calib_text) << "\ncalib-tokens " << o.calib_tokens << " seed " << o.calib_seed << "\ntarget-bpw "
    << o.target_bpw << " candidates " << o.candidates << " objective " << o.objective << " " << o.fisher_tokens
    << "\nspec " << o.method << " " << o.bits << " " << o.group << " " << o.rotation << " " << o.salient << "\napiq " << o.apiq.rank << " " << o.apiq.epochs << " "
    << o.apiq.regularizer << " " << o.apiq.lambda_reg << " " << o.apiq.seed << "\nembedding " << o.embedding << " "
    << o.embedding_group << "\n";
  return k.str();
}

void quantize(const QuantizeOptions& o, const Cancellation& cancel, QuantizeCheckpoint& ck, const LoadedModel& lm,
              const pipeline::Recipe& hand, quant::Format embedding) {
  const auto start = std::chrono::steady_clock::now();
  const bool apiq = is_apiq_method(o.method);
  std::string calib_source;
  using Clock = std::chrono::steady_clock;
  const auto seconds_since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  auto t0 = Clock::now();
  model::CpuForward forward(lm.model);
  const auto seqs = calibration_set(o, lm, forward, ck, calib_source);
  const bool need_stats = !apiq || o.target_bpw > 0.0 || !o.recipe.empty();
  const calib::ModelStats stats = need_stats ? calibrate(forward, seqs, ck) : calib::ModelStats(lm.model.config);
  const double calib_seconds = seconds_since(t0);
  t0 = Clock::now();
  const pipeline::CalibrationLookup cal = pipeline::calibration_lookup(stats);
  uint64_t calib_tokens = 0;
  for (const auto& s : seqs) calib_tokens += s.size();
  const std::string calibration = calib_source + ", " + std::to_string(calib_tokens) + " tokens";
  nlohmann::json report;
  pipeline::Recipe recipe;
  model::PackedModel packed;
  double recipe_seconds = 0.0;
  if (apiq) {
    packed = train_apiq(o, hand, lm.model, seqs, cal, calibration, ck, cancel, embedding, recipe, report);
  } else {
    recipe = choose_recipe(o, hand, lm.model, seqs, cal, calibration, ck);
    recipe_seconds = seconds_since(t0);
    t0 = Clock::now();
    packed = pipeline::quantize_model(lm.model, recipe, cal, {quant::Format::F32, 64, embedding, o.embedding_group},
                                   [&](const std::string& name, const std::function<quant::PackedLinear()>& q) {
                                     return ck.linear(name, q);
                                   });
  }
  const double quantize_seconds = seconds_since(t0);
  recipe.weights = recipe.stored_bits = 0;
  for (size_t i = 0; i < packed.layers.size(); ++i)
    for (const auto& lin : packed.layers[i].linears) {
      recipe.weights += uint64_t(lin.weight.layout.rows) * lin.weight.layout.cols;
      recipe.stored_bits += lin.stored_bytes() * 8;
    }
  std::cout << "linear layers " << format_fixed(packed.linear_bpw(), 4) << " bpw, whole model "
            << format_fixed(packed.model_bpw(), 4) << " bpw, " << packed.stored_bytes() << " bytes\n";
  std::cout << "seconds: calibration " << format_fixed(calib_seconds, 1) << ", recipe " << format_fixed(recipe_seconds, 1)
            << ", quantization " << format_fixed(quantize_seconds, 1) << "\n";
  report["model"] = o.model;
  report["method"] = o.method;
  report["linear_bpw"] = packed.linear_bpw();
  report["model_bpw"] = packed.model_bpw();
  report["stored_bytes"] = packed.stored_bytes();
  report["seconds"] = {{"calibration", calib_seconds},
                       {"recipe", recipe_seconds},
                       {"quantization", quantize_seconds},
                       {"total", seconds_since(start)}};
  report["calibration"] = {{"source", calib_source}, {"tokens", calib_tokens}};
  report["recipe"] = nlohmann::json::parse(pipeline::recipe_json(recipe));
  if (apiq)  // the report and the container name the method that made the layers, not its start
    for (auto& l : report["recipe"]["layers"]) {
      l["method"] = o.method;
      l["lora_rank"] = o.apiq.rank;
    }
  if (!o.save_recipe.empty()) pipeline::save_recipe(o.save_recipe, recipe);
  if (!o.output.empty()) {
    model::write_container(o.output, packed, {report["recipe"], report["calibration"]}, &cancel);
    ck.finish();
    std::cout << "wrote " << o.output << "\n";
  }
  if (o.eval_windows) evaluate(o, lm, packed, cancel, report);
  if (o.json == "-") std::cout << report.dump(2) << "\n";
  else if (!o.json.empty()) write_text_atomic(o.json, report.dump(2) + "\n");
}

void quantize(const QuantizeOptions& o) {
  if (o.output.empty() && o.eval_windows == 0 && o.save_recipe.empty())
    throw Error("quantize needs -o FILE, --save-recipe FILE or --eval N");
  const bool apiq = is_apiq_method(o.method);
  if (apiq) validate_apiq(o.apiq);
  const pipeline::Recipe hand = o.recipe.empty() ? pipeline::Recipe{} : pipeline::load_recipe(o.recipe);
  if (apiq && o.target_bpw <= 0.0 && o.recipe.empty()) pipeline::validate({pipeline::Method::Rtn, o.bits, o.group});
  else if (o.target_bpw <= 0.0 && o.recipe.empty()) uniform_spec(o);
  const quant::Format embedding = quant::parse_format(o.embedding);
  Cancellation cancel;
  const SignalCancellation on_signal(cancel);
  const LoadedModel lm = load_model_with_tokenizer(o.model, o.tokenizer);
  QuantizeCheckpoint ck(o.output, job_key(o, lm), cancel);
  try {
    quantize(o, cancel, ck, lm, hand, embedding);
  } catch (const CancelledError& e) {
    throw ck.interrupted(e);
  }
}

// "--bits" help from the method table: methods with the same choices share an entry.
std::string bits_help() {
  std::vector<std::pair<std::string, std::string>> entries;  // (methods, choices)
  for (const pipeline::MethodInfo& m : pipeline::all_methods()) {
    const std::string choices = m.fixed_bits ? "fixed" : std::string(m.bits_meaning) + " " + pipeline::bits_choices(m);
    auto it = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.second == choices; });
    if (it == entries.end()) entries.push_back({m.name, choices});
    else it->first += std::string("/") + m.name;
  }
  std::string s;
  for (const auto& [methods, choices] : entries) s += (s.empty() ? "" : "; ") + methods + ": " + choices;
  return s;
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
  cmd->add_option("--measurements", o->measurements, "With --target-bpw: reuse the candidate measurements in this file "
                                                     "(same calibration and candidates), or measure and save them there");
  cmd->add_option("--recipe", o->recipe, "Recipe JSON: the layers it fixes by hand (with --target-bpw), or every layer");
  cmd->add_option("--candidates", o->candidates, "Methods measured for --target-bpw: all, or a list like gptq,slim")->capture_default_str();
  cmd->add_option("--objective", o->objective, "Error --target-bpw minimizes: fisher (each layer's output error weighted by "
                                               "its output Fisher: the predicted loss increase) or output (plain output error)")
      ->check(CLI::IsMember({"fisher", "output"}))
      ->capture_default_str();
  cmd->add_option("--fisher-tokens", o->fisher_tokens, "Calibration tokens the output Fisher is estimated on")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--method", o->method,
                  "One method for every layer: " + pipeline::method_names() +
                      ", apiq, apiq-sal (with --target-bpw: apiq at a budgeted GPTQ allocation)")
      ->capture_default_str();
  cmd->add_option("--bits", o->bits, "Bits of --method (" + bits_help() + ")")->capture_default_str();
  cmd->add_option("--group", o->group, "Group size of --method (32, 64, 128)")->capture_default_str();
  cmd->add_option("--rotation", o->rotation, "Hadamard rotation of --method: none, input or both")->capture_default_str();
  cmd->add_option("--salient", o->salient, "Salient column fraction of ptq161")->capture_default_str();
  cmd->add_option("--embedding", o->embedding, "Format of the embedding/classifier")->capture_default_str();
  cmd->add_option("--embedding-group", o->embedding_group, "Group size of the embedding format")->capture_default_str();
  cmd->add_option("--calib-text", o->calib_text, "Calibration text file (default: stories sampled from the model)");
  cmd->add_option("--calib-tokens", o->calib_tokens, "Calibration tokens")->capture_default_str();
  cmd->add_option("--calib-seed", o->calib_seed, "Seed of the sampled calibration text")->capture_default_str();
  cmd->add_option("--save-recipe", o->save_recipe, "Write the recipe used (with bits and errors) to this file");
  cmd->add_option("--rank", o->apiq.rank, "LoRA rank of apiq and apiq-sal (alpha / rank = 0.25)")->capture_default_str();
  cmd->add_option("--epochs", o->apiq.epochs, "Training epochs per block of apiq and apiq-sal")->capture_default_str();
  cmd->add_option("--regularizer", o->apiq.regularizer, "Where apiq-sal's saliency regularizer acts: after or before (LoRA)")
      ->capture_default_str();
  cmd->add_option("--lambda-reg", o->apiq.lambda_reg, "Weight of apiq-sal's saliency regularizer")->capture_default_str();
  cmd->add_option("--seed", o->apiq.seed, "Seed of apiq's LoRA initialisation")->capture_default_str();
  cmd->add_option("--eval", o->eval_windows, "Compare with the fp32 model on this many Moby Dick windows (0: no)")->capture_default_str();
  cmd->add_option("--data", o->data_dir, "Data folder of the fetched texts")->capture_default_str();
  cmd->add_option("--json", o->json, "Write a JSON report to this file (- for stdout)");
  cmd->callback([o] {
    o->apiq.saliency = o->method == "apiq-sal";
    quantize(*o);
  });
}

}  // namespace bitlens::cli
