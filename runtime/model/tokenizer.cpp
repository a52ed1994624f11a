// SentencePiece-style BPE encoding and decoding, and the llama2.c tokenizer.bin reader (see
// tokenizer.h).
#include "model/tokenizer.h"

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <queue>

#include "common/error.h"
#include "common/file_io.h"

namespace bitlens::model {

Tokenizer::Tokenizer(std::vector<std::string> pieces, std::vector<float> scores, std::vector<TokenType> types,
                     uint32_t bos, uint32_t eos, std::string source)
    : pieces_(std::move(pieces)),
      scores_(std::move(scores)),
      types_(std::move(types)),
      bos_(bos),
      eos_(eos),
      source_(std::move(source)) {
  const size_t n = pieces_.size();
  if (n == 0) throw FileError(source_, "the vocabulary is empty");
  if (scores_.size() != n || types_.size() != n)
    throw FileError(source_, "the vocabulary has " + std::to_string(n) + " pieces but " +
                                 std::to_string(scores_.size()) + " scores and " + std::to_string(types_.size()) +
                                 " token types");
  if (bos_ >= n || eos_ >= n) throw FileError(source_, "BOS or EOS id lies outside the vocabulary");
  // BOS and EOS never stand for text, whatever piece a vocabulary gives them.
  for (uint32_t id : {bos_, eos_}) {
    if (types_[id] == TokenType::Byte)
      throw FileError(source_, "BOS/EOS id " + std::to_string(id) + " is a byte token");
    types_[id] = TokenType::Control;
  }
  byte_token_.fill(-1);
  for (uint32_t id = 0; id < n; ++id) {
    switch (types_[id]) {
      case TokenType::Byte:
        if (pieces_[id].size() != 1) throw FileError(source_, "byte token " + std::to_string(id) + " is not one byte");
        if (byte_token_[uint8_t(pieces_[id][0])] < 0) byte_token_[uint8_t(pieces_[id][0])] = int32_t(id);
        break;
      case TokenType::Normal:
      case TokenType::UserDefined:
        lookup_.emplace(pieces_[id], id);  // the first of duplicate pieces wins
        break;
      case TokenType::Unknown: unknown_ = id; break;
      default: break;
    }
  }
}

namespace {

// Length of the UTF-8 character starting at s[i]: the lead byte and its continuation bytes (at
// most 4 bytes; a stray continuation byte stands alone).
size_t utf8_char_length(std::string_view s, size_t i) {
  size_t n = 1;
  while (n < 4 && i + n < s.size() && (uint8_t(s[i + n]) & 0xc0) == 0x80 && (uint8_t(s[i]) & 0xc0) == 0xc0) ++n;
  return n;
}

// One symbol of the doubly linked list the merges work on.
struct Symbol {
  uint32_t id;
  int prev, next;  // -1 at the ends
  bool alive;
};

struct Candidate {
  float score;
  int left;  // index of the left symbol; its position in the text orders ties
  uint32_t left_id, right_id, merged;
  bool operator<(const Candidate& o) const {  // priority_queue pops the largest: best score, then leftmost
    if (score != o.score) return score < o.score;
    return left > o.left;
  }
};

}  // namespace

std::vector<uint32_t> Tokenizer::encode(std::string_view text, bool add_bos, bool add_eos) const {
  std::vector<Symbol> sym;
  auto push = [&](uint32_t id) { sym.push_back({id, int(sym.size()) - 1, -1, true}); };
  if (!text.empty()) {
    if (auto it = lookup_.find(" "); it != lookup_.end()) push(it->second);  // the dummy prefix
    for (size_t i = 0; i < text.size();) {
      const size_t len = utf8_char_length(text, i);
      if (auto it = lookup_.find(std::string(text.substr(i, len))); it != lookup_.end()) {
        push(it->second);
      } else {
        for (size_t b = 0; b < len; ++b) {
          const int32_t id = byte_token_[uint8_t(text[i + b])];
          push(id >= 0 ? uint32_t(id) : unknown_);
        }
      }
      i += len;
    }
    for (size_t i = 0; i + 1 < sym.size(); ++i) sym[i].next = int(i + 1);
  }

  std::priority_queue<Candidate> queue;
  auto consider = [&](int left) {
    if (left < 0 || sym[left].next < 0) return;
    const uint32_t a = sym[left].id, b = sym[sym[left].next].id;
    if (types_[a] == TokenType::Byte || types_[b] == TokenType::Byte) return;
    if (auto it = lookup_.find(pieces_[a] + pieces_[b]); it != lookup_.end())
      queue.push({scores_[it->second], left, a, b, it->second});
  };
  for (int i = 0; i + 1 < int(sym.size()); ++i) consider(i);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& l = sym[c.left];
    if (!l.alive || l.id != c.left_id || l.next < 0 || sym[l.next].id != c.right_id) continue;  // stale
    Symbol& r = sym[l.next];
    l.id = c.merged;
    r.alive = false;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = c.left;
    consider(l.prev);
    consider(c.left);
  }

  std::vector<uint32_t> out;
  if (add_bos) out.push_back(bos_);
  for (int i = sym.empty() ? -1 : 0; i >= 0; i = sym[i].next) out.push_back(sym[i].id);
  if (add_eos) out.push_back(eos_);
  return out;
}

std::string Tokenizer::decode(uint32_t prev, uint32_t token) const {
  if (token >= pieces_.size()) throw Error("decode: token " + std::to_string(token) + " is outside the vocabulary");
  const TokenType t = types_[token];
  if (t == TokenType::Control || t == TokenType::Unknown || t == TokenType::Unused) return {};
  const std::string& p = pieces_[token];
  if (prev == bos_ && t != TokenType::Byte && !p.empty() && p[0] == ' ') return p.substr(1);
  return p;
}

std::string Tokenizer::decode(std::span<const uint32_t> tokens) const {
  std::string out;
  uint32_t prev = uint32_t(-1);
  for (uint32_t t : tokens) {
    out += decode(prev, t);
    prev = t;
  }
  return out;
}

void Tokenizer::check_model(const ModelConfig& config, const std::string& model_path) const {
  if (config.vocab_size != vocab_size())
    throw FileError(source_, "wrong tokenizer: it has " + std::to_string(vocab_size()) + " tokens but the model " +
                                 model_path + " has a vocabulary of " + std::to_string(config.vocab_size));
}

namespace {

// The byte a llama2.c byte token stands for: "<0xNN>" anywhere, or at id 3 + b the raw byte b or
// the UTF-8 encoding of the Latin-1 character b; -1 if the piece is not a byte token.
int byte_value(const std::string& piece, uint32_t id) {
  if (piece.size() == 6 && piece.compare(0, 3, "<0x") == 0 && piece[5] == '>') {
    char* end = nullptr;
    const long v = std::strtol(piece.substr(3, 2).c_str(), &end, 16);
    if (end && *end == '\0' && std::isxdigit(uint8_t(piece[3])) && std::isxdigit(uint8_t(piece[4]))) return int(v);
  }
  if (id < 3 || id > 258) return -1;
  const uint8_t b = uint8_t(id - 3);
  if (piece.size() == 1 && uint8_t(piece[0]) == b) return b;
  if (b >= 0x80 && piece.size() == 2 && uint8_t(piece[0]) == 0xc0 + (b >> 6) && uint8_t(piece[1]) == 0x80 + (b & 0x3f))
    return b;
  return -1;
}

}  // namespace

Tokenizer Tokenizer::load_llama2c(const std::string& path) { return load_llama2c(MappedFile(path)); }

Tokenizer Tokenizer::load_llama2c(const MappedFile& f) {
  const std::string& path = f.path();
  auto read_i32 = [&](uint64_t at, const std::string& what) {
    int32_t v;
    std::memcpy(&v, f.range(at, 4, what).data(), 4);
    return v;
  };
  const int32_t max_len = read_i32(0, "max_token_length");
  if (max_len <= 0 || max_len > 4096)
    throw FileError(path, "max_token_length is " + std::to_string(max_len) + ": not a llama2.c tokenizer");
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<TokenType> types;
  uint32_t bos = 1, eos = 2;
  for (uint64_t at = 4; at < f.size();) {
    const uint32_t id = uint32_t(pieces.size());
    if (id >= (1u << 24)) throw FileError(path, "more than 2^24 tokens: not a llama2.c tokenizer");
    const std::string what = "token " + std::to_string(id);
    float score;
    std::memcpy(&score, f.range(at, 4, what + " score").data(), 4);
    const int32_t len = read_i32(at + 4, what + " length");
    if (len < 0 || len > max_len)
      throw FileError(path, what + " has length " + std::to_string(len) + " (max_token_length " +
                                std::to_string(max_len) + "): not a llama2.c tokenizer, or a corrupted one");
    const auto bytes = f.range(at + 8, uint64_t(len), what + " text");
    std::string piece(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    at += 8 + uint64_t(len);
    TokenType type = TokenType::Normal;
    if (const int b = byte_value(piece, id); b >= 0) {
      type = TokenType::Byte;
      piece = std::string(1, char(b));
    } else if (piece == "<unk>") {
      type = TokenType::Unknown;
    } else if (piece == "\n<s>\n" || piece == "<s>") {
      type = TokenType::Control;
      piece = "<s>";
      bos = id;
    } else if (piece == "\n</s>\n" || piece == "</s>") {
      type = TokenType::Control;
      piece = "</s>";
      eos = id;
    }
    pieces.push_back(std::move(piece));
    scores.push_back(score);
    types.push_back(type);
  }
  return Tokenizer(std::move(pieces), std::move(scores), std::move(types), bos, eos, path);
}

}  // namespace bitlens::model
