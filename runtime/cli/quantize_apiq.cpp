// The ApiQ methods of `bitlens quantize` (see quantize_apiq.h).
#include "cli/quantize_apiq.h"

#include <algorithm>
#include <iostream>

#include "cli/cli.h"
#include "common/error.h"
#include "train/gradient_saliency.h"

namespace bitlens::cli {

bool is_apiq_method(const std::string& method) { return method == "apiq" || method == "apiq-sal"; }

void validate_apiq(const ApiqCommandOptions& o) {
  if (o.regularizer != "after" && o.regularizer != "before")
    throw Error("--regularizer must be 'after' or 'before' (LoRA), not '" + o.regularizer + "'");
  if (o.rank == 0) throw Error("--rank must be at least 1");
  if (!(o.lambda_reg >= 0.0f)) throw Error("--lambda-reg must be a non-negative number");
}

double lora_bpw(const model::ModelConfig& c, uint32_t rank) {
  const uint64_t kv = uint64_t(c.n_kv_heads) * c.head_dim();
  const uint64_t shapes[model::kLinearsPerLayer][2] = {{c.dim, c.dim}, {kv, c.dim}, {kv, c.dim}, {c.dim, c.dim},
                                                       {c.hidden_dim, c.dim}, {c.dim, c.hidden_dim}, {c.hidden_dim, c.dim}};
  uint64_t weights = 0, bits = 0;
  for (const auto& s : shapes) {
    weights += s[0] * s[1];
    bits += (s[0] + s[1]) * rank * 16 + 32;
  }
  return double(bits) / double(weights);
}

namespace {

// The sequences of the most common (full) length, row-major.
std::vector<uint32_t> full_sequences(std::span<const std::vector<uint32_t>> sequences, size_t& seq_len) {
  seq_len = 0;
  for (const auto& s : sequences) seq_len = std::max(seq_len, s.size());
  std::vector<uint32_t> tokens;
  for (const auto& s : sequences)
    if (s.size() == seq_len) tokens.insert(tokens.end(), s.begin(), s.end());
  if (tokens.empty()) throw Error("apiq: no calibration sequences");
  return tokens;
}

}  // namespace

model::PackedModel apiq_model(const model::Model& m, std::span<const std::vector<uint32_t>> sequences,
                              const ApiqCommandOptions& o, uint32_t bits, uint32_t group,
                              const std::vector<std::array<train::ApiqOptions::LinearQuant, model::kLinearsPerLayer>>& quant,
                              quant::Format embedding, uint32_t embedding_group, const Cancellation& cancel,
                              nlohmann::json& report) {
  size_t seq_len = 0;
  const std::vector<uint32_t> tokens = full_sequences(sequences, seq_len);
  train::ApiqOptions a;
  a.bits = bits;
  a.group_size = group;
  a.linear_quant = quant;
  a.rank = o.rank;
  a.alpha = 0.25f * float(o.rank);  // alpha / rank = 0.25, as 16 / 64 in the paper
  a.epochs = o.epochs;
  a.seed = o.seed;
  a.embedding_format = embedding;
  a.embedding_group_size = embedding_group;
  a.lambda_reg = o.lambda_reg;
  train::GradientSaliency saliency;
  if (o.saliency) {
    a.regularizer = o.regularizer == "before" ? train::SaliencyRegularizer::BeforeLora : train::SaliencyRegularizer::AfterLora;
    ProgressBar bar("gradient saliency");
    saliency = train::gradient_saliency(m, tokens, seq_len, [&](size_t d, size_t t) {
      cancel.check("computing the gradient saliency");
      bar.update(d, t);
    });
  }
  const size_t n_seq = tokens.size() / seq_len;
  ProgressBar bar("apiq training");
  const train::ApiqResult r = train::apiq_quantize(m, tokens, seq_len, a, o.saliency ? &saliency : nullptr,
                                                   [&](const train::EpochLoss& e) {
                                                     bar.update(uint64_t(e.block) * (a.epochs + 1) + e.epoch + 1,
                                                                uint64_t(m.config.n_layers) * (a.epochs + 1));
                                                   },
                                                   &cancel);
  bar.finish();
  nlohmann::json blocks = nlohmann::json::array();
  for (uint32_t b = 0; b < m.config.n_layers; ++b) {
    const train::EpochLoss& first = r.curve[size_t(b) * (a.epochs + 1)];
    const train::EpochLoss& last = r.curve[size_t(b) * (a.epochs + 1) + a.epochs];
    blocks.push_back({{"start_loss", first.loss}, {"end_loss", last.loss}, {"end_mse", last.mse_fp},
                      {"end_reg", last.reg}, {"final_mse", r.final_mse[b]}});
    std::cout << "block " << b << ": loss " << format_fixed(first.loss, 6) << " -> " << format_fixed(last.loss, 6)
              << " (reg " << last.reg << "), packed block MSE " << format_fixed(r.final_mse[b], 6) << "\n";
  }
  report["apiq"] = {{"saliency", o.saliency},
                    {"regularizer", o.saliency ? o.regularizer : "none"},
                    {"lambda_reg", o.lambda_reg},
                    {"rank", o.rank},
                    {"epochs", o.epochs},
                    {"seed", o.seed},
                    {"sequences", n_seq},
                    {"seq_len", seq_len},
                    {"seconds", r.seconds},
                    {"blocks", blocks}};
  return r.model;
}

}  // namespace bitlens::cli
