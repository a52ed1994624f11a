// Shared pieces of the model tests: paths to the fetched real model and texts, a scratch folder,
// a configuration for synthetic_model, and a byte-level tokenizer that fits it.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/file_io.h"
#include "model/tokenizer.h"
#include "model/weights.h"
#include "synthetic_model.h"

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
    path_ = std::filesystem::temp_directory_path() / ("bitlens_" + std::string(info ? info->name() : "test") + "_" +
                                                      std::to_string(::getpid()) + "_" + std::to_string(counter()++));
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

// synthetic_model's small_config with room for byte_tokenizer's vocabulary and for more than one
// block of CpuForward::kMaxBatch positions.
inline model::ModelConfig tiny_config(bool shared_classifier = true) {
  model::ModelConfig c = small_config();
  c.hidden_dim = 96;
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
    pieces.push_back(i < 26 ? std::string(1, char('a' + i))
                            : " " + std::string(1, char('a' + i % 26)) + std::to_string(i));
    types.push_back(TokenType::Normal);
  }
  std::vector<float> scores(pieces.size());
  for (size_t i = 0; i < scores.size(); ++i) scores[i] = -float(i);
  return model::Tokenizer(pieces, scores, types, 1, 2, "byte tokenizer");
}

}  // namespace bitlens::test
