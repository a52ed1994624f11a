// Pieces shared by the `bitlens` commands: registering each command with the parser, loading a
// model with its tokenizer, a progress bar, and number formatting.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <string>

#include "model/tokenizer.h"
#include "model/weights.h"

namespace bitlens::cli {

// Each adds its subcommand (options, --help, and the callback that does the work) to `app`.
void add_run_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_quantize_command(CLI::App& app);

struct LoadedModel {
  model::Model model;
  model::Tokenizer tokenizer;
};
// The model at `path` and its tokenizer (`tokenizer_path`, else the default for the format).
LoadedModel load_model_with_tokenizer(const std::string& path, const std::string& tokenizer_path);

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
