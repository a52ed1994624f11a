// Model loading, progress bar and formatting shared by the commands (see cli.h).
#include "cli/cli.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "model/model_loader.h"

namespace bitlens::cli {

LoadedModel load_model_with_tokenizer(const std::string& path, const std::string& tokenizer_path) {
  model::Model m = model::load_model(path);
  model::Tokenizer t = model::load_tokenizer_for(m, tokenizer_path);
  return {std::move(m), std::move(t)};
}

ProgressBar::ProgressBar(std::string label) : label_(std::move(label)), tty_(::isatty(STDERR_FILENO) == 1) {}

void ProgressBar::finish() {
  if (drawn_) std::cerr << "\n" << std::flush;
  drawn_ = false;
}

void ProgressBar::update(uint64_t done, uint64_t total) {
  if (!tty_ || total == 0) return;
  constexpr int kWidth = 30;
  const int filled = int(kWidth * done / total);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double eta = done ? elapsed * double(total - done) / double(done) : 0.0;
  std::cerr << "\r" << label_ << " [" << std::string(filled, '=') << std::string(kWidth - filled, ' ') << "] " << done
            << "/" << total << "  " << format_fixed(elapsed, 1) << " s";
  if (done < total) std::cerr << ", " << format_fixed(eta, 0) << " s left ";
  std::cerr << std::flush;
  drawn_ = true;
}

std::string format_fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

}  // namespace bitlens::cli
