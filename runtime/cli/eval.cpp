// `bitlens eval`: perplexity of a model over fixed windows of a text and, against a reference
// model, mean KL divergence and top-1 agreement; a progress bar, and a JSON report on request.
// Ctrl-C (or SIGTERM) stops it between windows with one line and no report written.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "common/cancel.h"
#include "common/error.h"
#include "common/file_io.h"
#include "eval/corpus.h"
#include "eval/perplexity.h"
#include "model/backend.h"
#include "model/model_loader.h"

namespace bitlens::cli {

namespace {

struct EvalOptions {
  std::string model, tokenizer, reference, text_file, json, save_text, backend = "cpu", data_dir = "data",
              kv_cache = "f32";
  bool moby_dick = false, sampled = false;
  uint64_t seed = 1234;
  eval::WindowOptions windows;
};

// The evaluation text and a description of where it came from.
std::pair<std::string, std::string> eval_text(const EvalOptions& o, model::Forward& sampler_model,
                                              const std::string& sampler_path, const model::Tokenizer& tokenizer,
                                              const Cancellation& cancel) {
  if (o.moby_dick) return {eval::moby_dick_text(o.data_dir + "/texts/moby-dick", 1, 20), "Moby Dick chapters 1-20"};
  if (!o.text_file.empty()) return {read_text_file(o.text_file), o.text_file};
  const uint32_t windows = o.windows.max_windows ? o.windows.max_windows : 64;
  const uint32_t stride = o.windows.stride ? o.windows.stride : o.windows.window_len;
  const uint32_t tokens = (windows - 1) * stride + o.windows.window_len * 2;  // one spare window for re-tokenizing
  ProgressBar bar("sampling");
  std::string text = eval::sampled_text(sampler_model, tokenizer, tokens, o.seed,
                                        [&](uint32_t done, uint32_t total) {
                                          cancel.check("sampling the evaluation text");
                                          bar.update(done, total);
                                        });
  bar.finish();
  return {std::move(text), "stories sampled from " + sampler_path + " (seed " + std::to_string(o.seed) + ")"};
}

void evaluate(const EvalOptions& o) {
  if (int(o.moby_dick) + int(o.sampled) + int(!o.text_file.empty()) != 1)
    throw Error("eval needs exactly one of --text FILE, --moby-dick, --sampled");
  Cancellation cancel;
  const SignalCancellation on_signal(cancel);
  LoadedModel test = load_model_with_tokenizer(o.model, o.tokenizer);
  const auto test_forward = make_forward(o.backend, test, o.kv_cache);
  std::unique_ptr<model::Forward> ref_forward;
  if (!o.reference.empty()) {
    const model::Model ref = model::load_model(o.reference);
    test.tokenizer.check_model(ref.config, ref.source);
    ref_forward = model::make_forward(model::Backend::Cpu, ref);
  }
  for (const model::Forward* f : {test_forward.get(), ref_forward.get()})
    if (f && o.windows.window_len > f->config().seq_len)
      throw Error("--window-len " + std::to_string(o.windows.window_len) + " exceeds the model's context of " +
                  std::to_string(f->config().seq_len));

  auto [text, source] =
      eval_text(o, ref_forward ? *ref_forward : *test_forward, ref_forward ? o.reference : o.model, test.tokenizer, cancel);
  if (!o.save_text.empty()) write_text_atomic(o.save_text, text);
  const std::vector<uint32_t> tokens = test.tokenizer.encode(text, true, false);
  const std::vector<eval::Window> windows = eval::make_windows(tokens, test.tokenizer.bos(), o.windows);

  nlohmann::json report = {{"model", o.model},
                           {"backend", test_forward->name()},
                           {"kv_cache", o.kv_cache},
                           {"text", {{"source", source}, {"tokens", tokens.size()}}},
                           {"protocol",
                            {{"window_len", o.windows.window_len},
                             {"stride", o.windows.stride ? o.windows.stride : o.windows.window_len},
                             {"windows", windows.size()},
                             {"scored", o.windows.score_second_half ? "second half" : "all"}}}};
  ProgressBar bar("eval");
  auto progress = [&](uint32_t done, uint32_t total) {
    cancel.check("evaluating");
    bar.update(done, total);
  };
  std::cout << "text: " << source << ", " << tokens.size() << " tokens, " << windows.size() << " windows of "
            << o.windows.window_len << " (" << (o.windows.score_second_half ? "second half" : "all positions")
            << " scored)\n";
  if (!ref_forward) {
    const eval::PerplexityResult r = eval::perplexity(*test_forward, windows, o.windows, progress);
    bar.finish();
    std::cout << "perplexity " << format_fixed(r.perplexity(), 4) << " over " << r.tokens << " tokens ("
              << format_fixed(r.seconds, 1) << " s)\n";
    report["perplexity"] = r.perplexity();
    report["mean_nll"] = r.mean_nll();
    report["scored_tokens"] = r.tokens;
    report["seconds"] = r.seconds;
  } else {
    const eval::CompareResult r = eval::compare(*ref_forward, *test_forward, windows, o.windows, progress);
    bar.finish();
    std::cout << "perplexity " << format_fixed(r.test.perplexity(), 4) << " (reference "
              << format_fixed(r.reference.perplexity(), 4) << "), mean KL " << format_fixed(r.mean_kl(), 6) << " (max "
              << format_fixed(r.kl_max, 4) << "), top-1 agreement " << format_fixed(100.0 * r.top1_agreement(), 2)
              << "% over " << r.tokens << " tokens\n";
    report["reference"] = o.reference;
    report["perplexity"] = r.test.perplexity();
    report["reference_perplexity"] = r.reference.perplexity();
    report["mean_kl"] = r.mean_kl();
    report["max_kl"] = r.kl_max;
    report["top1_agreement"] = r.top1_agreement();
    report["scored_tokens"] = r.tokens;
    report["seconds"] = r.test.seconds + r.reference.seconds;
  }
  if (o.json == "-")
    std::cout << report.dump(2) << "\n";
  else if (!o.json.empty())
    write_text_atomic(o.json, report.dump(2) + "\n");
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand("eval",
                                     "Perplexity over fixed windows of a text; KL divergence and top-1 "
                                     "agreement against a reference model");
  cmd->add_option("model", o->model, "Model to evaluate (llama2.c .bin or GGUF)")->required();
  cmd->add_option("--tokenizer", o->tokenizer,
                  "Tokenizer file (default: the GGUF's own, or tokenizer.bin beside the model)");
  cmd->add_option("--ref", o->reference, "Reference model (e.g. the fp32 original): adds mean KL and top-1 agreement");
  cmd->add_option("--text", o->text_file, "Evaluate on this text file");
  cmd->add_flag("--moby-dick", o->moby_dick, "Evaluate on Moby Dick chapters 1-20 joined (DATA/texts/moby-dick)");
  cmd->add_flag("--sampled", o->sampled,
                "Evaluate on stories sampled from the reference model (else the model) with --seed");
  cmd->add_option("--data", o->data_dir, "Data folder of the fetched texts")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the sampled text")->capture_default_str();
  cmd->add_option("--windows", o->windows.max_windows, "Evaluate the first N windows; 0: all")->capture_default_str();
  cmd->add_option("--window-len", o->windows.window_len, "Tokens per window (first one is BOS)")
      ->capture_default_str()
      ->check(CLI::Range(2u, 1u << 20));
  cmd->add_option("--stride", o->windows.stride, "Tokens between window starts; 0: the window length")
      ->capture_default_str();
  cmd->add_flag("--second-half", o->windows.score_second_half,
                "Score only the second half of each window (llama.cpp's perplexity protocol)");
  cmd->add_option("--backend", o->backend, "Backend of the evaluated model: cpu or vulkan")->capture_default_str();
  add_kv_cache_option(*cmd, o->kv_cache);
  cmd->add_option("--save-text", o->save_text,
                  "Write the evaluation text to this file (e.g. the sampled text, to reuse it with --text)");
  cmd->add_option("--json", o->json, "Write a JSON report to this file (- for stdout)");
  cmd->callback([o] { evaluate(*o); });
}

}  // namespace bitlens::cli
