// `bitlens run`: generate text from a prompt, streaming it, then report prefill and decode speed.
#include <iostream>
#include <memory>

#include "cli/cli.h"
#include "model/backend.h"
#include "model/generate.h"

namespace bitlens::cli {

namespace {

struct RunOptions {
  std::string model, tokenizer, prompt, backend = "cpu", kv_cache = "f32";
  uint32_t steps = 256;
  model::SamplerOptions sampler;
};

void run(const RunOptions& o) {
  LoadedModel loaded = load_model_with_tokenizer(o.model, o.tokenizer);
  const auto forward = make_forward(o.backend, loaded, o.kv_cache);
  model::Sampler sampler(o.sampler);
  std::cout << o.prompt << std::flush;
  const model::GenerateResult r =
      model::generate(*forward, loaded.tokenizer, sampler, o.prompt, {.max_new_tokens = o.steps},
                      [](const std::string& piece) { std::cout << piece << std::flush; });
  std::cout << std::endl;
  std::cerr << "prefill: " << r.prompt_tokens.size() << " tokens, " << format_fixed(r.prefill_tokens_per_second(), 1)
            << " tokens/s; decode: " << r.decode_steps << " tokens, " << format_fixed(r.decode_tokens_per_second(), 1)
            << " tokens/s (" << forward->name() << ")"
            << (r.reached_context ? "; stopped at the model's context length" : "") << "\n";
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Generate text from a prompt (streams it, then reports tokens/s)");
  cmd->add_option("model", o->model, "Model file (llama2.c .bin or GGUF)")->required();
  cmd->add_option("--tokenizer", o->tokenizer,
                  "Tokenizer file (default: the GGUF's own, or tokenizer.bin beside the model)");
  cmd->add_option("-p,--prompt", o->prompt, "Prompt text (default: empty, generation starts from BOS)");
  cmd->add_option("-n,--steps", o->steps, "Maximum number of tokens to generate")->capture_default_str();
  cmd->add_option("--temp", o->sampler.temperature, "Temperature; 0 is greedy")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--top-k", o->sampler.top_k, "Sample among the K most likely tokens; 0: all")->capture_default_str();
  cmd->add_option("--top-p", o->sampler.top_p, "Nucleus sampling threshold in (0, 1]")
      ->capture_default_str()
      ->check(CLI::Range(0.0f, 1.0f));
  cmd->add_option("--seed", o->sampler.seed, "Random seed of the sampler")->capture_default_str();
  cmd->add_option("--backend", o->backend, "Inference backend: cpu or vulkan")->capture_default_str();
  add_kv_cache_option(*cmd, o->kv_cache);
  cmd->callback([o] { run(*o); });
}

}  // namespace bitlens::cli
