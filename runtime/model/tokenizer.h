// Tokenizer: a SentencePiece-style BPE vocabulary (LLaMA's), from a llama2.c tokenizer.bin or a
// GGUF llama vocabulary. Encoding follows llama2.c's run.c: an optional BOS, a dummy " " prefix,
// each UTF-8 character looked up (unknown ones fall back to byte tokens), then repeated merging of
// the adjacent pair whose merged piece has the highest score (leftmost first on ties). Decoding
// maps byte tokens to raw bytes and drops the space that follows BOS, so decode(encode(s)) == s.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/file_io.h"
#include "model/config.h"

namespace bitlens::model {

// Token kinds, numbered as GGUF's tokenizer.ggml.token_type.
enum class TokenType : int32_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

class Tokenizer {
 public:
  // pieces use ' ' for spaces (SentencePiece's U+2581 already replaced); a Byte token's piece is
  // its single raw byte; Control pieces are "<s>", "</s>". Throws FileError naming `source` if
  // the vocabulary is inconsistent.
  Tokenizer(std::vector<std::string> pieces, std::vector<float> scores, std::vector<TokenType> types, uint32_t bos,
            uint32_t eos, std::string source);

  // Reads a llama2.c tokenizer.bin (int32 max_token_length, then per token: float score, int32
  // length, bytes, to the end of the file). Byte tokens stored as raw bytes, as the Latin-1
  // character of the byte in UTF-8, or as "<0xNN>" are all recognized.
  static Tokenizer load_llama2c(const std::string& path);
  static Tokenizer load_llama2c(const MappedFile& file);

  uint32_t vocab_size() const { return uint32_t(pieces_.size()); }
  uint32_t bos() const { return bos_; }
  uint32_t eos() const { return eos_; }
  const std::string& source() const { return source_; }
  const std::string& piece(uint32_t id) const { return pieces_.at(id); }
  float score(uint32_t id) const { return scores_.at(id); }
  TokenType type(uint32_t id) const { return types_.at(id); }

  std::vector<uint32_t> encode(std::string_view text, bool add_bos, bool add_eos) const;
  // The text of `token` following `prev` (the space after BOS is dropped; control tokens are "").
  std::string decode(uint32_t prev, uint32_t token) const;
  // The text of a whole sequence (the first token is treated as following nothing).
  std::string decode(std::span<const uint32_t> tokens) const;

  // Throws FileError naming this tokenizer's file if it does not fit the model from `model_path`.
  void check_model(const ModelConfig& config, const std::string& model_path) const;

 private:
  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::vector<TokenType> types_;
  std::unordered_map<std::string, uint32_t> lookup_;  // Normal and UserDefined pieces
  std::array<int32_t, 256> byte_token_;               // id of the Byte token of each value, or -1
  uint32_t bos_ = 1, eos_ = 2, unknown_ = 0;
  std::string source_;
};

}  // namespace bitlens::model
