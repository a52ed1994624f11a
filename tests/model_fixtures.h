// Shared pieces of the model tests: paths to the fetched real model and texts, a scratch folder,
// a tiny random LLaMA model, and a byte-level tokenizer that fits it.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/file_io.h"
#include "model/tokenizer.h"
#include "model/weights.h"

namespace bitlens::test {

// data/ of the source tree (scripts/fetch_data.sh puts the real model and texts there).
inline std::string data_path(const std::string& rel) { return std::string(BITLENS_SOURCE_DIR) + "/data/" + rel; }
inline std::string stories15m_path() { return data_path("stories15M.bin"); }
inline std::string tokenizer_path() { return data_path("tokenizer.bin"); }

// A fresh folder removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("bitlens_" + std::string(info ? info->name() : "test") + "_" + std::to_string(::getpid()) + "_" +
             std::to_string(counter()++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::filesystem::path path_;
};

inline std::vector<uint8_t> read_bytes(const std::string& path) { return read_file(path); }
inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  write_file_atomic(path, std::span<const uint8_t>(bytes));
}
template <typename T>
void poke(std::vector<uint8_t>& bytes, size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

// Runs fn and expects one FileError whose message starts with "path: " and mentions `problem`.
template <typename Fn>
void expect_file_error(Fn fn, const std::string& path, const std::string& problem) {
  try {
    fn();
    ADD_FAILURE() << "no error for " << path << " (expected: " << problem << ")";
  } catch (const FileError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(problem), std::string::npos) << msg;
  }
}

// A model of the given shape with N(0, 0.1^2) weights (norm weights near 1).
inline model::Model random_model(const model::ModelConfig& c, uint64_t seed) {
  struct Owned {
    std::vector<std::vector<float>> blocks;
  };
  auto owned = std::make_shared<Owned>();
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.1f);
  auto make = [&](uint32_t rows, uint32_t cols, float base) {
    std::vector<float>& v = owned->blocks.emplace_back(size_t(rows) * cols);
    for (float& x : v) x = base + normal(rng);
    return model::Matrix{v.data(), rows, cols};
  };
  model::Model m;
  m.config = c;
  m.source = "random model";
  m.weights.token_embedding = make(c.vocab_size, c.dim, 0.0f);
  for (uint32_t l = 0; l < c.n_layers; ++l) {
    model::LayerWeights w;
    w.rms_att = make(1, c.dim, 1.0f);
    w.wq = make(c.dim, c.dim, 0.0f);
    w.wk = make(c.kv_dim(), c.dim, 0.0f);
    w.wv = make(c.kv_dim(), c.dim, 0.0f);
    w.wo = make(c.dim, c.dim, 0.0f);
    w.rms_ffn = make(1, c.dim, 1.0f);
    w.w1 = make(c.hidden_dim, c.dim, 0.0f);
    w.w2 = make(c.dim, c.hidden_dim, 0.0f);
    w.w3 = make(c.hidden_dim, c.dim, 0.0f);
    m.weights.layers.push_back(w);
  }
  m.weights.rms_final = make(1, c.dim, 1.0f);
  m.weights.classifier = c.shared_classifier ? m.weights.token_embedding : make(c.vocab_size, c.dim, 0.0f);
  m.storage = owned;
  return m;
}

inline model::ModelConfig tiny_config(bool shared_classifier = true) {
  model::ModelConfig c;
  c.dim = 64;
  c.hidden_dim = 96;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.vocab_size = 300;
  c.seq_len = 48;
  c.shared_classifier = shared_classifier;
  return c;
}

// <unk>, <s>, </s>, the 256 byte tokens, then " " and pieces "a", "b", ... up to vocab_size.
inline model::Tokenizer byte_tokenizer(uint32_t vocab_size) {
  using model::TokenType;
  std::vector<std::string> pieces = {"<unk>", "<s>", "</s>"};
  std::vector<TokenType> types = {TokenType::Unknown, TokenType::Control, TokenType::Control};
  for (int b = 0; b < 256; ++b) {
    pieces.push_back(std::string(1, char(b)));
    types.push_back(TokenType::Byte);
  }
  pieces.push_back(" ");
  types.push_back(TokenType::Normal);
  for (uint32_t i = 0; pieces.size() < vocab_size; ++i) {
    pieces.push_back(i < 26 ? std::string(1, char('a' + i)) : " " + std::string(1, char('a' + i % 26)) + std::to_string(i));
    types.push_back(TokenType::Normal);
  }
  std::vector<float> scores(pieces.size());
  for (size_t i = 0; i < scores.size(); ++i) scores[i] = -float(i);
  return model::Tokenizer(pieces, scores, types, 1, 2, "byte tokenizer");
}

}  // namespace bitlens::test
