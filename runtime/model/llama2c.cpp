// Reading and writing llama2.c checkpoints (see llama2c.h). Tensor order follows llama2.c's
// export.py: legacy_export for v0, version1_export for v1.
#include "model/llama2c.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "common/error.h"
#include "common/file_io.h"

namespace bitlens::model {

namespace {

constexpr uint64_t kV1HeaderBytes = 256;
constexpr uint64_t kV0HeaderBytes = 7 * 4;

template <typename T>
T read_at(const MappedFile& f, uint64_t offset, const std::string& what) {
  T v;
  std::memcpy(&v, f.range(offset, sizeof(T), what).data(), sizeof(T));
  return v;
}

// The 7 int32 of both headers: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len.
ModelConfig read_config(const MappedFile& f, uint64_t offset, bool vocab_sign_is_flag) {
  static const char* names[] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
  int32_t v[7];
  for (int i = 0; i < 7; ++i) v[i] = read_at<int32_t>(f, offset + 4 * i, std::string("header field ") + names[i]);
  ModelConfig c;
  c.shared_classifier = true;
  if (vocab_sign_is_flag && v[5] < 0 && v[5] != INT32_MIN) {
    c.shared_classifier = false;
    v[5] = -v[5];
  }
  for (int i = 0; i < 7; ++i)
    if (v[i] <= 0)
      throw FileError(f.path(), std::string("header field ") + names[i] + " is " + std::to_string(v[i]) +
                                    ": not a llama2.c checkpoint, or a corrupted one");
  c.dim = uint32_t(v[0]);
  c.hidden_dim = uint32_t(v[1]);
  c.n_layers = uint32_t(v[2]);
  c.n_heads = uint32_t(v[3]);
  c.n_kv_heads = uint32_t(v[4]);
  c.vocab_size = uint32_t(v[5]);
  c.seq_len = uint32_t(v[6]);
  validate(c, f.path());
  return c;
}

// Floats of the tensors every version stores (validate() bounds each factor, so no overflow).
uint64_t weight_floats(const ModelConfig& c) {
  const uint64_t dim = c.dim, hidden = c.hidden_dim, kv = c.kv_dim(), layers = c.n_layers;
  uint64_t n = uint64_t(c.vocab_size) * dim + dim;                            // embedding, final norm
  n += layers * (2 * dim + 2 * dim * dim + 2 * kv * dim + 3 * hidden * dim);  // per-layer tensors
  if (!c.shared_classifier) n += uint64_t(c.vocab_size) * dim;
  return n;
}

uint64_t rope_table_floats(const ModelConfig& c) { return 2 * uint64_t(c.seq_len) * (c.head_dim() / 2); }

// Hands out consecutive tensors of the weight area.
struct Cursor {
  const float* p;
  Matrix take(uint32_t rows, uint32_t cols) {
    Matrix m{p, rows, cols};
    p += size_t(rows) * cols;
    return m;
  }
};

template <typename Field>
void take_per_layer(Cursor& cur, ModelWeights& w, Field field, uint32_t rows, uint32_t cols) {
  for (auto& l : w.layers) l.*field = cur.take(rows, cols);
}

void map_v0(Cursor cur, const ModelConfig& c, ModelWeights& w) {
  w.token_embedding = cur.take(c.vocab_size, c.dim);
  take_per_layer(cur, w, &LayerWeights::rms_att, 1, c.dim);
  take_per_layer(cur, w, &LayerWeights::wq, c.dim, c.dim);
  take_per_layer(cur, w, &LayerWeights::wk, c.kv_dim(), c.dim);
  take_per_layer(cur, w, &LayerWeights::wv, c.kv_dim(), c.dim);
  take_per_layer(cur, w, &LayerWeights::wo, c.dim, c.dim);
  take_per_layer(cur, w, &LayerWeights::rms_ffn, 1, c.dim);
  take_per_layer(cur, w, &LayerWeights::w1, c.hidden_dim, c.dim);
  take_per_layer(cur, w, &LayerWeights::w2, c.dim, c.hidden_dim);
  take_per_layer(cur, w, &LayerWeights::w3, c.hidden_dim, c.dim);
  w.rms_final = cur.take(1, c.dim);
  cur.p += rope_table_floats(c);  // freq_cis_real, freq_cis_imag: unused (RoPE is computed)
  w.classifier = c.shared_classifier ? w.token_embedding : cur.take(c.vocab_size, c.dim);
}

void map_v1(Cursor cur, const ModelConfig& c, ModelWeights& w) {
  take_per_layer(cur, w, &LayerWeights::rms_att, 1, c.dim);
  take_per_layer(cur, w, &LayerWeights::rms_ffn, 1, c.dim);
  w.rms_final = cur.take(1, c.dim);
  w.token_embedding = cur.take(c.vocab_size, c.dim);
  take_per_layer(cur, w, &LayerWeights::wq, c.dim, c.dim);
  take_per_layer(cur, w, &LayerWeights::wk, c.kv_dim(), c.dim);
  take_per_layer(cur, w, &LayerWeights::wv, c.kv_dim(), c.dim);
  take_per_layer(cur, w, &LayerWeights::wo, c.dim, c.dim);
  take_per_layer(cur, w, &LayerWeights::w1, c.hidden_dim, c.dim);
  take_per_layer(cur, w, &LayerWeights::w2, c.dim, c.hidden_dim);
  take_per_layer(cur, w, &LayerWeights::w3, c.hidden_dim, c.dim);
  w.classifier = c.shared_classifier ? w.token_embedding : cur.take(c.vocab_size, c.dim);
}

}  // namespace

Model load_llama2c(const std::string& path) { return load_llama2c(std::make_shared<const MappedFile>(path)); }

Model load_llama2c(std::shared_ptr<const MappedFile> file) {
  const MappedFile& f = *file;
  const std::string& path = f.path();
  if (f.size() < kV0HeaderBytes)
    throw FileError(path, "file of " + std::to_string(f.size()) + " bytes is too small to be a llama2.c checkpoint");
  const bool v1 = read_at<uint32_t>(f, 0, "magic") == kLlama2cMagic;
  uint64_t data_offset = kV0HeaderBytes;
  ModelConfig c;
  if (v1) {
    const int32_t version = read_at<int32_t>(f, 4, "version");
    if (version != 1)
      throw FileError(path, "llama2.c checkpoint version " + std::to_string(version) +
                                " is not supported (only the fp32 versions 0 and 1)");
    c = read_config(f, 8, false);
    const uint8_t shared = read_at<uint8_t>(f, 36, "shared classifier flag");
    if (shared > 1) throw FileError(path, "shared classifier flag is " + std::to_string(shared) + ", expected 0 or 1");
    c.shared_classifier = shared == 1;
    data_offset = kV1HeaderBytes;
  } else {
    c = read_config(f, 0, true);
  }
  const uint64_t floats = weight_floats(c) + (v1 ? 0 : rope_table_floats(c));
  const uint64_t expected = data_offset + floats * 4;
  if (f.size() != expected)
    throw FileError(path, "file is " + std::to_string(f.size()) + " bytes but its header (" + c.describe() +
                              (c.shared_classifier ? "" : ", separate classifier") + ") implies " +
                              std::to_string(expected) + ": truncated, corrupted or not a llama2.c v" +
                              (v1 ? "1" : "0") + " checkpoint");

  Model m;
  m.config = c;
  m.source = path;
  m.weights.layers.resize(c.n_layers);
  const Cursor cur{reinterpret_cast<const float*>(f.data() + data_offset)};
  if (v1)
    map_v1(cur, c, m.weights);
  else
    map_v0(cur, c, m.weights);
  m.storage = file;
  return m;
}

namespace {

std::span<const uint8_t> bytes_of(const Matrix& m) {
  return {reinterpret_cast<const uint8_t*>(m.data), m.span().size() * sizeof(float)};
}

template <typename Field>
void put_per_layer(std::vector<std::span<const uint8_t>>& parts, const Model& m, Field field) {
  for (const auto& l : m.weights.layers) parts.push_back(bytes_of(l.*field));
}

void put_linears(std::vector<std::span<const uint8_t>>& parts, const Model& m) {
  for (auto field : {&LayerWeights::wq, &LayerWeights::wk, &LayerWeights::wv, &LayerWeights::wo})
    put_per_layer(parts, m, field);
}

}  // namespace

void write_llama2c(const Model& model, const std::string& path, int version) {
  if (version != 0 && version != 1) throw Error("write_llama2c: version " + std::to_string(version) + " is not 0 or 1");
  check_shapes(model, model.source);
  const ModelConfig& c = model.config;
  const bool shared = model.weights.classifier.data == model.weights.token_embedding.data;
  std::vector<uint8_t> header(version == 1 ? kV1HeaderBytes : kV0HeaderBytes, 0);
  const int32_t fields[7] = {int32_t(c.dim),        int32_t(c.hidden_dim),
                             int32_t(c.n_layers),   int32_t(c.n_heads),
                             int32_t(c.n_kv_heads), int32_t(c.vocab_size) * (shared || version == 1 ? 1 : -1),
                             int32_t(c.seq_len)};
  uint8_t* h = header.data();
  if (version == 1) {
    const uint32_t magic = kLlama2cMagic;
    const int32_t v = 1;
    std::memcpy(h, &magic, 4);
    std::memcpy(h + 4, &v, 4);
    h[36] = shared ? 1 : 0;
    h += 8;
  }
  std::memcpy(h, fields, sizeof(fields));

  const ModelWeights& w = model.weights;
  std::vector<std::span<const uint8_t>> parts{header};
  std::vector<float> rope_tables;
  if (version == 0) {
    parts.push_back(bytes_of(w.token_embedding));
    put_per_layer(parts, model, &LayerWeights::rms_att);
    put_linears(parts, model);
    put_per_layer(parts, model, &LayerWeights::rms_ffn);
    for (auto field : {&LayerWeights::w1, &LayerWeights::w2, &LayerWeights::w3}) put_per_layer(parts, model, field);
    parts.push_back(bytes_of(w.rms_final));
    // freq_cis_real then freq_cis_imag, [seq_len x head_dim / 2] each.
    const uint32_t half = c.head_dim() / 2;
    rope_tables.resize(2 * size_t(c.seq_len) * half);
    for (uint32_t t = 0; t < c.seq_len; ++t)
      for (uint32_t i = 0; i < half; ++i) {
        const double angle = t / std::pow(double(c.rope_theta), 2.0 * i / c.head_dim());
        rope_tables[size_t(t) * half + i] = float(std::cos(angle));
        rope_tables[(size_t(c.seq_len) + t) * half + i] = float(std::sin(angle));
      }
    parts.push_back({reinterpret_cast<const uint8_t*>(rope_tables.data()), rope_tables.size() * 4});
  } else {
    put_per_layer(parts, model, &LayerWeights::rms_att);
    put_per_layer(parts, model, &LayerWeights::rms_ffn);
    parts.push_back(bytes_of(w.rms_final));
    parts.push_back(bytes_of(w.token_embedding));
    put_linears(parts, model);
    for (auto field : {&LayerWeights::w1, &LayerWeights::w2, &LayerWeights::w3}) put_per_layer(parts, model, field);
  }
  if (!shared) parts.push_back(bytes_of(w.classifier));
  write_file_atomic(path, parts);
}

}  // namespace bitlens::model
