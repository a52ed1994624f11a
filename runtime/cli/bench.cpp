// `bitlens bench`: end-to-end speed of a model (a file in any format, or a synthetic LLaMA-shaped
// stack with random weights) on the Vulkan forward pass, against the device's read bandwidth and
// the CPU reference measured in the same run; text tables, or a JSON report.
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "bench/bench.h"
#include "bench/synthetic.h"
#include "cli/cli.h"
#include "common/error.h"
#include "common/file_io.h"
#include "model/container.h"
#include "model/model_loader.h"

namespace bitlens::cli {

namespace {

struct BenchCliOptions {
  std::string model, synthetic, format, embedding, json, kv_cache = "f32";
  uint32_t group = 64, bits = 0, blocks = 0;
  bool no_cpu = false, no_profile = false, unfused = false;
  bench::BenchOptions bench;
};

quant::Format parse_format_name(const std::string& name) {
  return quant::parse_format(name == "fp32" ? "f32" : name == "fp16" ? "f16" : name);
}

// Bytes of memory the kernel says are available (0 when unknown).
uint64_t available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return 0;
}

model::PackedModel synthetic(const BenchCliOptions& o, std::string& name) {
  bench::SyntheticSpec spec;
  spec.shape = o.synthetic;
  spec.blocks = o.blocks;
  spec.group_size = o.group;
  if (o.bits && !o.format.empty()) throw Error("give --bits or --format, not both");
  spec.format = o.bits ? quant::format_for_bits(o.bits) : o.format.empty() ? quant::Format::Q4 : parse_format_name(o.format);
  const uint64_t bytes = bench::synthetic_model_bytes(spec);
  const uint64_t avail = available_memory();
  // The packed model stays on the host beside its device copy (one and the same memory on CPU devices).
  if (avail && 2 * bytes > avail)
    throw Error("a synthetic " + o.synthetic + " model in " + quant::format_info(spec.format).name + " takes " +
                std::to_string(bytes >> 20) + " MiB (twice that with its device copy), more than the " +
                std::to_string(avail >> 20) + " MiB available; use --blocks N");
  model::PackedModel m = bench::synthetic_model(spec);
  name = "synthetic " + o.synthetic + " x" + std::to_string(m.config.n_layers) + " blocks, " +
         quant::format_info(spec.format).name + (quant::uses_groups(spec.format) ? " g" + std::to_string(o.group) : "");
  return m;
}

model::PackedModel from_file(const BenchCliOptions& o, std::string& name) {
  name = o.model;
  if (model::detect_model_format(o.model) == model::ModelFormat::Container) {
    if (!o.format.empty() || o.bits) throw Error(o.model + " is already quantized: drop --format/--bits");
    return model::read_container(o.model).model;
  }
  const quant::Format f = o.bits ? quant::format_for_bits(o.bits) : parse_format_name(o.format.empty() ? "f32" : o.format);
  const quant::Format emb = o.embedding.empty() ? f : parse_format_name(o.embedding);
  name += std::string(" as ") + quant::format_info(f).name + (quant::uses_groups(f) ? " g" + std::to_string(o.group) : "");
  if (quant::format_info(f).kind == quant::FormatKind::LowBit)
    throw Error(std::string("--format ") + quant::format_info(f).name +
                " needs calibration: make a .blq with bitlens quantize and bench that");
  return model::pack_model(model::load_model(o.model), {f, o.group, emb, o.group});
}

void bench_command(BenchCliOptions o) {
  if (o.model.empty() == o.synthetic.empty()) throw Error("bench needs a model file or --synthetic SHAPE (not both)");
  if (o.no_cpu) o.bench.cpu = false;
  if (o.no_profile) o.bench.profile = false;
  if (o.unfused) o.bench.fused_inputs = false;
  o.bench.kv_cache = kernels::parse_kv_precision(o.kv_cache);
  std::string name;
  std::cerr << "preparing the model...\n";
  const model::PackedModel m = o.synthetic.empty() ? from_file(o, name) : synthetic(o, name);
  if (!o.synthetic.empty() && o.bench.cpu_blocks == 0 && m.config.n_layers > 2) o.bench.cpu_blocks = 2;
  o.bench.progress = [](const std::string& line) { std::cerr << "  " << line << "...\n"; };
  kernels::Gpu gpu;
  const bench::BenchReport r = bench::run_bench(gpu, m, name, o.bench);
  if (o.json == "-") {
    std::cout << r.to_json().dump(2) << "\n";
    return;
  }
  std::cout << r.to_text();
  if (!o.json.empty()) write_text_atomic(o.json, r.to_json().dump(2) + "\n");
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchCliOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench",
      "Decode and prefill speed on the Vulkan forward pass against the device's read bandwidth and the CPU "
      "reference (same run), with a per-kernel breakdown");
  cmd->add_option("model", o->model, "Model file: llama2.c .bin, GGUF, or a quantized .blq");
  cmd->add_option("--synthetic", o->synthetic, "Random weights in a LLaMA shape instead of a file: llama7b or stories15m");
  cmd->add_option("--blocks", o->blocks, "Transformer blocks of the synthetic model (0: the shape's own)")->capture_default_str();
  cmd->add_option("--format", o->format, "Weight format of the block linears: fp32, f16, q8, q4, q3, q2 (default fp32; q4 synthetic)");
  cmd->add_option("--bits", o->bits, "Shorthand for the format: 2, 3, 4, 8 (q*), 16 (f16), 32 (fp32)");
  cmd->add_option("--group", o->group, "Group size of the q formats")->capture_default_str()->check(CLI::IsMember({32, 64, 128}));
  cmd->add_option("--embedding", o->embedding, "Format of the embedding/classifier (default: the --format)");
  cmd->add_option("--contexts", o->bench.decode_contexts, "Decode contexts (0: the model's maximum)")
      ->capture_default_str()
      ->delimiter(',');
  cmd->add_option("--prefill", o->bench.prefill_lengths, "Prefill lengths in tokens")->capture_default_str()->delimiter(',');
  cmd->add_option("--min-seconds", o->bench.min_seconds, "Time each figure for at least this long")->capture_default_str();
  cmd->add_option("--repeats", o->bench.min_repeats, "... and at least this many times")->capture_default_str()->check(CLI::Range(1u, 1000u));
  cmd->add_flag("--no-cpu", o->no_cpu, "Skip the CPU reference");
  cmd->add_option("--cpu-blocks", o->bench.cpu_blocks,
                  "Time the CPU reference on the first N blocks and scale by weights (default: all; 2 for synthetic stacks)");
  cmd->add_flag("--no-profile", o->no_profile, "Skip the per-kernel breakdown");
  cmd->add_flag("--unfused", o->unfused,
                "Decode with RMSNorm, SwiGLU and input rotations as dispatches of their own (to compare with their fusion "
                "into the mat-vecs)");
  add_kv_cache_option(*cmd, o->kv_cache);  // the CPU reference keeps fp32 keys and values
  cmd->add_option("--profile-context", o->bench.profile_context, "Context of the breakdown (0: the largest decode context)");
  cmd->add_option("--json", o->json, "Write a JSON report to this file (- for stdout instead of the tables)");
  cmd->callback([o] { bench_command(*o); });
}

}  // namespace bitlens::cli
