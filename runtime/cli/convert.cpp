// `bitlens convert`: export a model to GGUF F32/F16 (readable by llama.cpp, tokenizer embedded) or
// to a llama2.c v1 checkpoint (.bin).
#include <iostream>
#include <memory>

#include "cli/cli.h"
#include "common/error.h"
#include "model/gguf_model.h"
#include "model/llama2c.h"
#include "model/model_loader.h"

namespace bitlens::cli {

namespace {

struct ConvertOptions {
  std::string model, tokenizer, output;
  bool f16 = false;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void convert(const ConvertOptions& o) {
  if (ends_with(o.output, ".bin")) {
    if (o.f16) throw Error("--f16 applies to GGUF output only; llama2.c v1 checkpoints are fp32");
    const model::Model m = model::load_model(o.model);
    model::write_llama2c(m, o.output, 1);
    std::cout << "wrote " << o.output << " (llama2.c v1, fp32; " << m.config.describe() << ")\n";
    return;
  }
  const LoadedModel loaded = load_model_with_tokenizer(o.model, o.tokenizer);
  model::write_gguf(loaded.model, loaded.tokenizer, o.output, o.f16 ? model::GgmlType::F16 : model::GgmlType::F32);
  std::cout << "wrote " << o.output << " (GGUF " << (o.f16 ? "F16" : "F32") << "; " << loaded.model.config.describe()
            << ")\n";
}

}  // namespace

void add_convert_command(CLI::App& app) {
  auto o = std::make_shared<ConvertOptions>();
  CLI::App* cmd = app.add_subcommand("convert",
                                     "Export a model to GGUF (F32 or F16, for llama.cpp) or, for a .bin "
                                     "output, to a llama2.c v1 checkpoint");
  cmd->add_option("model", o->model, "Model file (llama2.c .bin or GGUF)")->required();
  cmd->add_option("-o,--output", o->output, "Output file: *.gguf, or *.bin for llama2.c v1")->required();
  cmd->add_option("--tokenizer", o->tokenizer,
                  "Tokenizer to embed (default: the GGUF's own, or tokenizer.bin beside the model)");
  cmd->add_flag("--f16", o->f16, "Store the matrices as F16 (norms stay F32)");
  cmd->callback([o] { convert(*o); });
}

}  // namespace bitlens::cli
