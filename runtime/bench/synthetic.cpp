// Synthetic LLaMA-shaped packed models (see synthetic.h): words drawn from a counter-based
// generator in parallel, straight into the packed layout.
#include "bench/synthetic.h"

#include <cstring>

#include "common/error.h"
#include "common/fp16.h"
#include "common/parallel.h"

namespace bitlens::bench {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

constexpr float kRange = 0.02f;  // weights in [-kRange, kRange]

float uniform_weight(uint64_t r) { return kRange * (2.0f * float(r >> 40) / float(1u << 24) - 1.0f); }

void check_format(quant::Format f) {
  const quant::FormatKind kind = quant::format_info(f).kind;
  if (kind == quant::FormatKind::LowBit)
    throw UnsupportedError(std::string("synthetic models come in float and group formats, not ") +
                           quant::format_info(f).name);
}

quant::PackedLayout layout_of(const SyntheticSpec& spec, uint32_t rows, uint32_t cols) {
  quant::PackedLayout l;
  l.format = spec.format;
  l.rows = rows;
  l.cols = cols;
  l.group_size = quant::uses_groups(spec.format) ? spec.group_size : 0;
  quant::validate(l);
  return l;
}

// Random codes and one (scale, offset) word for every group: w = scale * q - offset spans the range.
quant::PackedMatrix random_matrix(const SyntheticSpec& spec, uint32_t rows, uint32_t cols, uint64_t stream) {
  quant::PackedMatrix m;
  m.layout = layout_of(spec, rows, cols);
  m.words.resize(m.layout.total_words());
  const quant::FormatInfo& info = quant::format_info(spec.format);
  const uint64_t code_words = m.layout.code_words();
  uint32_t param_word = 0;
  if (info.grouped) {
    const float scale = 2.0f * kRange / float((1u << info.bits) - 1);
    param_word = uint32_t(float_to_half(scale)) | uint32_t(float_to_half(kRange)) << 16;
  }
  const quant::Format f = spec.format;
  parallel_for(
      m.words.size(),
      [&](size_t i0, size_t i1) {
        for (size_t i = i0; i < i1; ++i) {
          const uint64_t r = splitmix64(stream * 0x100000001b3ull + i);
          uint32_t w;
          if (i >= code_words) {
            w = param_word;
          } else if (f == quant::Format::F32) {
            const float v = uniform_weight(r);
            std::memcpy(&w, &v, 4);
          } else if (f == quant::Format::F16) {
            w = uint32_t(float_to_half(uniform_weight(r))) | uint32_t(float_to_half(uniform_weight(r << 24))) << 16;
          } else {
            w = uint32_t(r);
          }
          m.words[i] = w;
        }
      },
      1 << 16);
  return m;
}

}  // namespace

model::ModelConfig synthetic_config(const std::string& shape) {
  model::ModelConfig c;
  if (shape == "llama7b") {
    c.dim = 4096;
    c.hidden_dim = 11008;
    c.n_layers = 32;
    c.n_heads = c.n_kv_heads = 32;
    c.vocab_size = 32000;
    c.seq_len = 2048;
    c.shared_classifier = false;
  } else if (shape == "stories15m") {
    c.dim = 288;
    c.hidden_dim = 768;
    c.n_layers = 6;
    c.n_heads = c.n_kv_heads = 6;
    c.vocab_size = 32000;
    c.seq_len = 256;
  } else {
    throw Error("unknown synthetic shape '" + shape + "' (choices: llama7b, stories15m)");
  }
  return c;
}

static uint64_t stored_bytes(const quant::PackedLayout& l) { return (l.code_words() + l.param_words()) * 4; }

uint64_t synthetic_model_bytes(const SyntheticSpec& spec) {
  check_format(spec.format);
  model::ModelConfig c = synthetic_config(spec.shape);
  if (spec.blocks) c.n_layers = spec.blocks;
  const uint32_t kv = c.kv_dim();
  const uint32_t rows[model::kLinearsPerLayer] = {c.dim, kv, kv, c.dim, c.hidden_dim, c.dim, c.hidden_dim};
  const uint32_t cols[model::kLinearsPerLayer] = {c.dim, c.dim, c.dim, c.dim, c.dim, c.hidden_dim, c.dim};
  uint64_t block = 2ull * c.dim * 4;
  for (uint32_t i = 0; i < model::kLinearsPerLayer; ++i) block += stored_bytes(layout_of(spec, rows[i], cols[i]));
  const uint64_t table = stored_bytes(layout_of(spec, c.vocab_size, c.dim));
  return block * c.n_layers + table * (c.shared_classifier ? 1 : 2) + uint64_t(c.dim) * 4;
}

model::PackedModel synthetic_model(const SyntheticSpec& spec, uint64_t seed) {
  check_format(spec.format);
  model::PackedModel m;
  m.config = synthetic_config(spec.shape);
  model::ModelConfig& c = m.config;
  if (spec.blocks) c.n_layers = spec.blocks;
  uint64_t stream = seed << 20;
  m.token_embedding = random_matrix(spec, c.vocab_size, c.dim, stream++);
  if (!c.shared_classifier) m.classifier = random_matrix(spec, c.vocab_size, c.dim, stream++);
  const uint32_t kv = c.kv_dim();
  const uint32_t rows[model::kLinearsPerLayer] = {c.dim, kv, kv, c.dim, c.hidden_dim, c.dim, c.hidden_dim};
  const uint32_t cols[model::kLinearsPerLayer] = {c.dim, c.dim, c.dim, c.dim, c.dim, c.hidden_dim, c.dim};
  m.layers.resize(c.n_layers);
  for (model::PackedLayer& layer : m.layers) {
    layer.rms_att.assign(c.dim, 1.0f);
    layer.rms_ffn.assign(c.dim, 1.0f);
    for (uint32_t i = 0; i < model::kLinearsPerLayer; ++i)
      layer.linears[i].weight = random_matrix(spec, rows[i], cols[i], stream++);
  }
  m.rms_final.assign(c.dim, 1.0f);
  return m;
}

}  // namespace bitlens::bench
