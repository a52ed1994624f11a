// Pieces shared by the `bitlens` commands: registering each command with the parser, loading a
// model with its tokenizer, a progress bar, and number formatting.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "model/forward.h"
#include "model/packed_model.h"
#include "model/tokenizer.h"
#include "model/weights.h"

namespace bitlens::cli {

// Each adds its subcommand (options, --help, and the callback that does the work) to `app`.
void add_run_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_devices_command(CLI::App& app);

struct LoadedModel {
  model::Model model;                        // a container's dequantized (fp32) model
  model::Tokenizer tokenizer;
  std::optional<model::PackedModel> packed;  // a container's packed model
};
// The model at `path` and its tokenizer (`tokenizer_path`, else the default for the format).
LoadedModel load_model_with_tokenizer(const std::string& path, const std::string& tokenizer_path);
// The forward pass on backend "cpu" or "vulkan"; Vulkan runs a container's packed formats (with
// their rotations and LoRA factors), the CPU the fp32 model they stand for. kv_cache: "f32" or
// "f16" (keys and values stored in fp16 on either backend).
std::unique_ptr<model::Forward> make_forward(const std::string& backend, const LoadedModel& loaded,
                                             const std::string& kv_cache = "f32");
// Adds --kv-cache to a command.
void add_kv_cache_option(CLI::App& cmd, std::string& kv_cache);

// A one-line progress bar on stderr, redrawn in place when stderr is a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar() { finish(); }
  void update(uint64_t done, uint64_t total);
  void finish();  // ends the line, if one was drawn

 private:
  std::string label_;
  bool tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

std::string format_fixed(double v, int decimals);

}  // namespace bitlens::cli
