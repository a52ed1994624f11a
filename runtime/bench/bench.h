// End-to-end speed of a model on the Vulkan forward pass, against the device's own read bandwidth
// and the CPU reference forward pass measured in the same run: decode tokens/s at chosen contexts,
// prefill tokens/s, bytes read per token, the fraction of the bandwidth limit reached, and a
// per-kernel timestamp breakdown of a decode step. What `bitlens bench` runs and reports.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kernels/gpu.h"
#include "kernels/kv_cache.h"
#include "model/packed_model.h"

namespace bitlens::bench {

struct BenchOptions {
  std::vector<uint32_t> decode_contexts = {16, 128, 0};  // positions a decode step attends to; 0: the model's context
  std::vector<uint32_t> prefill_lengths = {64, 256};     // prompt tokens (capped at the context)
  double min_seconds = 1.0;  // each figure: repeat until this much time has passed (at least min_repeats times)
  uint32_t min_repeats = 2;
  bool cpu = true;          // also time the CPU reference forward pass
  uint32_t cpu_blocks = 0;  // run the CPU reference on the first N blocks only and scale (0: all)
  bool profile = true;      // per-kernel breakdown of decode steps at profile_context
  uint32_t profile_context = 0;  // 0: the largest decode context
  bool fused_inputs = true;      // decode with RMSNorm/SwiGLU inside the mat-vecs (VulkanForwardOptions)
  kernels::KvPrecision kv_cache = kernels::KvPrecision::F32;  // of the Vulkan pass (the CPU reference keeps fp32)
  // Called with a line describing each measurement as it starts.
  std::function<void(const std::string&)> progress;
};

struct DecodeFigure {
  uint32_t context = 0;
  double tokens_per_s = 0, cpu_tokens_per_s = 0;  // cpu: 0 when not measured
  uint64_t bytes_per_token = 0;                   // weights + keys and values read by one step
  double limit_tokens_per_s = 0;                  // bandwidth / bytes_per_token
  double fraction_of_limit() const { return limit_tokens_per_s > 0 ? tokens_per_s / limit_tokens_per_s : 0; }
  double vs_cpu() const { return cpu_tokens_per_s > 0 ? tokens_per_s / cpu_tokens_per_s : 0; }
};

struct PrefillFigure {
  uint32_t tokens = 0;
  double tokens_per_s = 0, cpu_tokens_per_s = 0;
  double vs_cpu() const { return cpu_tokens_per_s > 0 ? tokens_per_s / cpu_tokens_per_s : 0; }
};

struct KernelShare {
  std::string op;
  uint64_t calls_per_token = 0;  // dispatches per decode step
  double us_per_token = 0;
  double percent = 0;  // of the summed device time of a step
};

struct BenchReport {
  std::string model, device;
  model::ModelConfig config;
  double model_bpw = 0, linear_bpw = 0;
  uint64_t weight_bytes = 0, kv_cache_bytes = 0;
  double bandwidth_gbps = 0;  // the device's read bandwidth, measured in this run
  uint32_t cpu_threads = 0, cpu_blocks = 0;  // cpu_blocks < n_layers: CPU times scaled from that many blocks
  bool fused_inputs = true;
  kernels::KvPrecision kv_cache = kernels::KvPrecision::F32;
  std::vector<DecodeFigure> decode;
  std::vector<PrefillFigure> prefill;
  uint32_t profile_context = 0;
  double profile_us_per_token = 0;  // summed device time of a profiled step (timestamps, barriers between ops)
  std::vector<KernelShare> kernels;  // largest share first

  nlohmann::json to_json() const;
  std::string to_text() const;  // the human-readable tables
};

// Runs every measurement of `options` on `model` (named `name` in the report).
BenchReport run_bench(kernels::Gpu& gpu, const model::PackedModel& model, const std::string& name,
                      const BenchOptions& options);

}  // namespace bitlens::bench
