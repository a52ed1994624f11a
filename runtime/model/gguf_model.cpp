// GGUF <-> Model and Tokenizer (see gguf_model.h).
#include "model/gguf_model.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>

#include "common/error.h"
#include "common/fp16.h"

namespace bitlens::model {

namespace {

const std::string kSpace = "\xe2\x96\x81";  // U+2581, SentencePiece's visible space

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

// A u32-sized metadata value; required when no fallback is given.
uint32_t get_u32(const GgufFile& g, const std::string& key, std::optional<uint64_t> fallback = std::nullopt) {
  const uint64_t v = fallback ? g.get_uint(key, *fallback) : g.get_uint(key);
  if (v > std::numeric_limits<uint32_t>::max())
    throw FileError(g.path(), key + " = " + std::to_string(v) + " is too large");
  return uint32_t(v);
}

// Owned floats for tensors that cannot be used in place (F16, or misaligned F32), plus the map.
struct GgufStorage {
  std::shared_ptr<const MappedFile> file;
  std::vector<std::vector<float>> converted;
};

Matrix tensor(const GgufFile& g, GgufStorage& store, const std::string& name, uint32_t rows, uint32_t cols) {
  const GgufTensor* t = g.find_tensor(name);
  if (!t) throw FileError(g.path(), "tensor " + name + " is missing");
  const std::vector<uint64_t> expected = rows == 1 ? std::vector<uint64_t>{cols} : std::vector<uint64_t>{cols, rows};
  if (t->dims != expected) {
    std::string dims;
    for (uint64_t d : t->dims) dims += (dims.empty() ? "" : "x") + std::to_string(d);
    throw FileError(g.path(), "tensor " + name + " has dimensions " + dims + ", expected " + std::to_string(cols) +
                                  (rows == 1 ? "" : "x" + std::to_string(rows)) + " for " + "this configuration");
  }
  if (!t->data)
    throw FileError(g.path(), "tensor " + name + " has type " + ggml_type_name(t->type) +
                                  ": only F32 and F16 tensors are supported");
  const size_t n = size_t(rows) * cols;
  if (t->type == uint32_t(GgmlType::F32) && reinterpret_cast<uintptr_t>(t->data) % alignof(float) == 0)
    return {reinterpret_cast<const float*>(t->data), rows, cols};
  std::vector<float>& out = store.converted.emplace_back(n);
  if (t->type == uint32_t(GgmlType::F32)) {
    std::memcpy(out.data(), t->data, n * 4);
  } else {
    for (size_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, t->data + 2 * i, 2);
      out[i] = half_to_float(h);
    }
  }
  return {out.data(), rows, cols};
}

ModelConfig read_config(const GgufFile& g) {
  const std::string arch = g.get_string("general.architecture");
  if (arch != "llama") throw FileError(g.path(), "architecture \"" + arch + "\" is not supported (only llama)");
  ModelConfig c;
  c.dim = get_u32(g, "llama.embedding_length");
  c.hidden_dim = get_u32(g, "llama.feed_forward_length");
  c.n_layers = get_u32(g, "llama.block_count");
  c.n_heads = get_u32(g, "llama.attention.head_count");
  c.n_kv_heads = get_u32(g, "llama.attention.head_count_kv", c.n_heads);
  c.seq_len = get_u32(g, "llama.context_length");
  c.rope_theta = g.get_float("llama.rope.freq_base", 10000.0f);
  c.norm_eps = g.get_float("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  const GgufTensor* embd = g.find_tensor("token_embd.weight");
  if (!embd) throw FileError(g.path(), "tensor token_embd.weight is missing");
  if (embd->dims.size() != 2 || embd->dims[1] > std::numeric_limits<uint32_t>::max())
    throw FileError(g.path(), "tensor token_embd.weight is not a [dim x vocab] matrix");
  c.vocab_size = uint32_t(embd->dims[1]);
  if (get_u32(g, "llama.vocab_size", c.vocab_size) != c.vocab_size)
    throw FileError(g.path(), "llama.vocab_size disagrees with token_embd.weight");
  c.shared_classifier = g.find_tensor("output.weight") == nullptr;
  validate(c, g.path());
  if (get_u32(g, "llama.rope.dimension_count", c.head_dim()) != c.head_dim())
    throw FileError(g.path(),
                    "llama.rope.dimension_count differs from the head dimension (partial RoPE is not supported)");
  return c;
}

}  // namespace

Model load_gguf_model(const std::string& path) { return load_gguf_model(GgufFile(path)); }

Model load_gguf_model(const GgufFile& g) {
  Model m;
  m.config = read_config(g);
  m.source = g.path();
  const ModelConfig& c = m.config;
  auto store = std::make_shared<GgufStorage>();
  store->file = g.file();
  ModelWeights& w = m.weights;
  w.token_embedding = tensor(g, *store, "token_embd.weight", c.vocab_size, c.dim);
  for (uint32_t i = 0; i < c.n_layers; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    LayerWeights l;
    l.rms_att = tensor(g, *store, p + "attn_norm.weight", 1, c.dim);
    l.wq = tensor(g, *store, p + "attn_q.weight", c.dim, c.dim);
    l.wk = tensor(g, *store, p + "attn_k.weight", c.kv_dim(), c.dim);
    l.wv = tensor(g, *store, p + "attn_v.weight", c.kv_dim(), c.dim);
    l.wo = tensor(g, *store, p + "attn_output.weight", c.dim, c.dim);
    l.rms_ffn = tensor(g, *store, p + "ffn_norm.weight", 1, c.dim);
    l.w1 = tensor(g, *store, p + "ffn_gate.weight", c.hidden_dim, c.dim);
    l.w2 = tensor(g, *store, p + "ffn_down.weight", c.dim, c.hidden_dim);
    l.w3 = tensor(g, *store, p + "ffn_up.weight", c.hidden_dim, c.dim);
    w.layers.push_back(l);
  }
  w.rms_final = tensor(g, *store, "output_norm.weight", 1, c.dim);
  w.classifier = c.shared_classifier ? w.token_embedding : tensor(g, *store, "output.weight", c.vocab_size, c.dim);
  m.storage = store;
  return m;
}

Tokenizer load_gguf_tokenizer(const GgufFile& g) {
  const std::string kind = g.get_string("tokenizer.ggml.model");
  if (kind != "llama")
    throw FileError(g.path(), "tokenizer model \"" + kind + "\" is not supported (only llama, SentencePiece BPE)");
  std::vector<std::string> pieces = g.get_string_array("tokenizer.ggml.tokens");
  const size_t n = pieces.size();
  std::vector<float> scores =
      g.find("tokenizer.ggml.scores") ? g.get_f32_array("tokenizer.ggml.scores") : std::vector<float>(n, 0.0f);
  std::vector<int32_t> raw_types =
      g.find("tokenizer.ggml.token_type") ? g.get_i32_array("tokenizer.ggml.token_type") : std::vector<int32_t>(n, 0);
  if (scores.size() != n || raw_types.size() != n)
    throw FileError(g.path(), "tokenizer arrays differ in length (tokens, scores, token_type)");
  std::vector<TokenType> types(n);
  for (size_t id = 0; id < n; ++id) {
    std::string& p = pieces[id];
    int32_t t = raw_types[id];
    unsigned byte = 0;
    char close = 0;
    const bool hex_byte = p.size() == 6 && std::sscanf(p.c_str(), "<0x%2X%c", &byte, &close) == 2 && close == '>';
    if (t == 0) {  // no type stored: infer it from the piece
      t = hex_byte ? 6 : p == "<unk>" ? 2 : (p == "<s>" || p == "</s>") ? 3 : 1;
    }
    if (t < 1 || t > 6)
      throw FileError(g.path(), "token " + std::to_string(id) + " has unknown type " + std::to_string(t));
    types[id] = TokenType(t);
    if (types[id] == TokenType::Byte) {
      if (hex_byte)
        p = std::string(1, char(byte));
      else if (p.size() != 1)
        throw FileError(g.path(), "byte token " + std::to_string(id) + " is \"" + p + "\"");
    } else {
      p = replace_all(std::move(p), kSpace, " ");
    }
  }
  const uint32_t bos = get_u32(g, "tokenizer.ggml.bos_token_id", 1), eos = get_u32(g, "tokenizer.ggml.eos_token_id", 2);
  return Tokenizer(std::move(pieces), std::move(scores), std::move(types), bos, eos, g.path());
}

namespace {

std::span<const uint8_t> bytes_of(std::span<const float> v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size() * 4};
}

// Adds the tokenizer.ggml.* vocabulary: spaces back to U+2581, byte tokens as "<0xNN>".
void add_vocabulary(GgufWriter& w, const Tokenizer& tok) {
  std::vector<std::string> pieces(tok.vocab_size());
  std::vector<float> scores(tok.vocab_size());
  std::vector<int32_t> types(tok.vocab_size());
  for (uint32_t id = 0; id < tok.vocab_size(); ++id) {
    types[id] = int32_t(tok.type(id));
    scores[id] = tok.score(id);
    if (tok.type(id) == TokenType::Byte) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "<0x%02X>", unsigned(uint8_t(tok.piece(id)[0])));
      pieces[id] = buf;
    } else {
      pieces[id] = replace_all(tok.piece(id), " ", kSpace);
    }
  }
  w.add_string("tokenizer.ggml.model", "llama");
  w.add_string_array("tokenizer.ggml.tokens", pieces);
  w.add_f32_array("tokenizer.ggml.scores", scores);
  w.add_i32_array("tokenizer.ggml.token_type", types);
  w.add_u32("tokenizer.ggml.bos_token_id", tok.bos());
  w.add_u32("tokenizer.ggml.eos_token_id", tok.eos());
  for (uint32_t id = 0; id < tok.vocab_size(); ++id)
    if (tok.type(id) == TokenType::Unknown) {
      w.add_u32("tokenizer.ggml.unknown_token_id", id);
      break;
    }
  w.add_bool("tokenizer.ggml.add_bos_token", true);
  w.add_bool("tokenizer.ggml.add_eos_token", false);
}

}  // namespace

void write_gguf(const Model& model, const Tokenizer& tokenizer, const std::string& path, GgmlType type) {
  check_shapes(model, model.source);
  tokenizer.check_model(model.config, model.source);
  const ModelConfig& c = model.config;
  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_string("general.name", model.source.empty() ? "model" : std::filesystem::path(model.source).stem().string());
  w.add_u32("general.file_type", type == GgmlType::F32 ? 0 : 1);  // ALL_F32, MOSTLY_F16
  w.add_u32("llama.context_length", c.seq_len);
  w.add_u32("llama.embedding_length", c.dim);
  w.add_u32("llama.block_count", c.n_layers);
  w.add_u32("llama.feed_forward_length", c.hidden_dim);
  w.add_u32("llama.rope.dimension_count", c.head_dim());
  w.add_u32("llama.attention.head_count", c.n_heads);
  w.add_u32("llama.attention.head_count_kv", c.n_kv_heads);
  w.add_f32("llama.attention.layer_norm_rms_epsilon", c.norm_eps);
  w.add_f32("llama.rope.freq_base", c.rope_theta);
  w.add_u32("llama.vocab_size", c.vocab_size);
  add_vocabulary(w, tokenizer);

  std::vector<std::vector<uint16_t>> halves;  // F16 copies, alive until the write
  halves.reserve(4 + size_t(c.n_layers) * 7);
  auto matrix = [&](const std::string& name, const Matrix& m) {
    if (type == GgmlType::F32) return w.add_tensor(name, {m.cols, m.rows}, GgmlType::F32, bytes_of(m.span()));
    std::vector<uint16_t>& h = halves.emplace_back(m.span().size());
    for (size_t i = 0; i < h.size(); ++i) h[i] = float_to_half(m.data[i]);
    w.add_tensor(name, {m.cols, m.rows}, GgmlType::F16, {reinterpret_cast<const uint8_t*>(h.data()), h.size() * 2});
  };
  auto norm = [&](const std::string& name, const Matrix& m) {
    w.add_tensor(name, {m.cols}, GgmlType::F32, bytes_of(m.span()));
  };
  const ModelWeights& mw = model.weights;
  matrix("token_embd.weight", mw.token_embedding);
  for (uint32_t i = 0; i < c.n_layers; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    const LayerWeights& l = mw.layers[i];
    norm(p + "attn_norm.weight", l.rms_att);
    matrix(p + "attn_q.weight", l.wq);
    matrix(p + "attn_k.weight", l.wk);
    matrix(p + "attn_v.weight", l.wv);
    matrix(p + "attn_output.weight", l.wo);
    norm(p + "ffn_norm.weight", l.rms_ffn);
    matrix(p + "ffn_gate.weight", l.w1);
    matrix(p + "ffn_down.weight", l.w2);
    matrix(p + "ffn_up.weight", l.w3);
  }
  norm("output_norm.weight", mw.rms_final);
  if (mw.classifier.data != mw.token_embedding.data) matrix("output.weight", mw.classifier);
  w.write(path);
}

}  // namespace bitlens::model
