// Model loading, progress bar and formatting shared by the commands (see cli.h).
#include "cli/cli.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "kernels/kv_cache.h"
#include "model/backend.h"
#include "model/container.h"
#include "model/float_model.h"
#include "model/model_loader.h"

namespace bitlens::cli {

LoadedModel load_model_with_tokenizer(const std::string& path, const std::string& tokenizer_path) {
  std::optional<model::PackedModel> packed;
  model::Model m;
  if (model::detect_model_format(path) == model::ModelFormat::Container) {
    packed = model::read_container(path).model;
    m = model::to_float_model(*packed);
    m.source = path;
  } else {
    m = model::load_model(path);
  }
  model::Tokenizer t = model::load_tokenizer_for(m, tokenizer_path);
  return {std::move(m), std::move(t), std::move(packed)};
}

std::unique_ptr<model::Forward> make_forward(const std::string& backend, const LoadedModel& loaded,
                                             const std::string& kv_cache) {
  const model::Backend b = model::parse_backend(backend);
  const bool f16 = kernels::parse_kv_precision(kv_cache) == kernels::KvPrecision::F16;
  if (loaded.packed && b == model::Backend::Vulkan) return model::make_forward(b, *loaded.packed, f16);
  return model::make_forward(b, loaded.model, f16);
}

void add_kv_cache_option(CLI::App& cmd, std::string& kv_cache) {
  cmd.add_option("--kv-cache", kv_cache,
                 "Precision of the cached keys and values: f32, or f16 (rounded to half precision on either backend: "
                 "half the cache's memory and of the bytes it adds to each token)")
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "f16"}));
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
