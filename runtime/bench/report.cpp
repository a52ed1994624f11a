// BenchReport as JSON and as text tables.
#include <cstdio>
#include <sstream>

#include "bench/bench.h"

namespace bitlens::bench {

namespace {

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

std::string ratio(double v) { return v > 0 ? fixed(v, 2) + "x" : "-"; }

}  // namespace

nlohmann::json BenchReport::to_json() const {
  nlohmann::json j = {{"model", model},
                      {"device", device},
                      {"config", config.describe()},
                      {"model_bpw", model_bpw},
                      {"linear_bpw", linear_bpw},
                      {"weight_bytes", weight_bytes},
                      {"kv_cache_bytes", kv_cache_bytes},
                      {"bandwidth_gbps", bandwidth_gbps},
                      {"cpu_threads", cpu_threads},
                      {"cpu_blocks", cpu_blocks},
                      {"cpu_scaled", cpu_blocks > 0 && cpu_blocks < config.n_layers},
                      {"fused_inputs", fused_inputs},
                      {"kv_cache", kernels::kv_precision_name(kv_cache)}};
  j["decode"] = nlohmann::json::array();
  for (const DecodeFigure& d : decode)
    j["decode"].push_back({{"context", d.context},
                           {"tokens_per_s", d.tokens_per_s},
                           {"cpu_tokens_per_s", d.cpu_tokens_per_s},
                           {"vs_cpu", d.vs_cpu()},
                           {"bytes_per_token", d.bytes_per_token},
                           {"limit_tokens_per_s", d.limit_tokens_per_s},
                           {"fraction_of_limit", d.fraction_of_limit()}});
  j["prefill"] = nlohmann::json::array();
  for (const PrefillFigure& p : prefill)
    j["prefill"].push_back({{"tokens", p.tokens},
                            {"tokens_per_s", p.tokens_per_s},
                            {"cpu_tokens_per_s", p.cpu_tokens_per_s},
                            {"vs_cpu", p.vs_cpu()}});
  nlohmann::json k = nlohmann::json::array();
  for (const KernelShare& s : kernels)
    k.push_back({{"op", s.op}, {"calls_per_token", s.calls_per_token}, {"us_per_token", s.us_per_token}, {"percent", s.percent}});
  j["profile"] = {{"context", profile_context}, {"us_per_token", profile_us_per_token}, {"kernels", k}};
  return j;
}

std::string BenchReport::to_text() const {
  std::ostringstream s;
  s << "model   " << model << " (" << config.describe() << "), " << fixed(model_bpw, 3) << " bpw ("
    << fixed(linear_bpw, 3) << " over the block linears)\n";
  s << "device  " << device << ", read bandwidth " << fixed(bandwidth_gbps, 1) << " GB/s\n";
  s << "weights " << fixed(weight_bytes * 1e-6, 1) << " MB, KV cache " << fixed(kv_cache_bytes * 1e-6, 1) << " MB ("
    << kernels::kv_precision_name(kv_cache) << ")\n";
  if (!fused_inputs) s << "decode  RMSNorm, SwiGLU and input rotations as dispatches of their own (--unfused)\n";
  s << "cpu     reference forward pass on " << cpu_threads << " threads";
  if (cpu_blocks && cpu_blocks < config.n_layers)
    s << ", timed on " << cpu_blocks << " of " << config.n_layers << " blocks and scaled by weights";
  s << "\n\n";
  s << "decode   context  tok/s      bytes/token   limit tok/s  of limit  cpu tok/s  vs cpu\n";
  for (const DecodeFigure& d : decode) {
    char line[200];
    std::snprintf(line, sizeof(line), "         %7u  %9.2f  %12.0f  %11.2f  %7.1f%%  %9.2f  %6s\n", d.context,
                  d.tokens_per_s, double(d.bytes_per_token), d.limit_tokens_per_s, 100.0 * d.fraction_of_limit(),
                  d.cpu_tokens_per_s, ratio(d.vs_cpu()).c_str());
    s << line;
  }
  s << "\nprefill  tokens   tok/s      cpu tok/s  vs cpu\n";
  for (const PrefillFigure& p : prefill) {
    char line[160];
    std::snprintf(line, sizeof(line), "         %7u  %9.2f  %9.2f  %6s\n", p.tokens, p.tokens_per_s, p.cpu_tokens_per_s,
                  ratio(p.vs_cpu()).c_str());
    s << line;
  }
  if (!kernels.empty()) {
    s << "\nper-kernel device time of a decode step at context " << profile_context << " ("
      << fixed(profile_us_per_token, 0) << " us, timestamps between ops)\n";
    s << "         op             calls    us/token   share\n";
    for (const KernelShare& k : kernels) {
      char line[160];
      std::snprintf(line, sizeof(line), "         %-14s %5llu  %10.1f  %5.1f%%\n", k.op.c_str(),
                    (unsigned long long)k.calls_per_token, k.us_per_token, k.percent);
      s << line;
    }
  }
  return s.str();
}

}  // namespace bitlens::bench
