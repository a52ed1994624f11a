// Tokenizer: known token ids of the real LLaMA vocabulary, exact encode/decode round trips on real
// text, byte fallback, the GGUF vocabulary round trip, and clear errors on bad tokenizer files.
#include <gtest/gtest.h>

#include "eval/corpus.h"
#include "model/gguf_model.h"
#include "model/model_loader.h"
#include "model/tokenizer.h"
#include "model_fixtures.h"

using namespace bitlens;
using model::Tokenizer;
using model::TokenType;

namespace {

const Tokenizer& real_tokenizer() {
  static const Tokenizer t = Tokenizer::load_llama2c(test::tokenizer_path());
  return t;
}

}  // namespace

TEST(Tokenizer, ReadsTheBundledVocabulary) {
  const Tokenizer& t = real_tokenizer();
  EXPECT_EQ(t.vocab_size(), 32000u);
  EXPECT_EQ(t.bos(), 1u);
  EXPECT_EQ(t.eos(), 2u);
  EXPECT_EQ(t.type(0), TokenType::Unknown);
  EXPECT_EQ(t.type(1), TokenType::Control);
  // Byte tokens 3..258 are stored raw (or as the Latin-1 character of the byte) in this file.
  for (uint32_t b = 0; b < 256; ++b) {
    ASSERT_EQ(t.type(3 + b), TokenType::Byte) << b;
    EXPECT_EQ(t.piece(3 + b), std::string(1, char(b)));
  }
  EXPECT_EQ(t.type(259), TokenType::Normal);
}

TEST(Tokenizer, KnownTokenIds) {
  const Tokenizer& t = real_tokenizer();
  // As llama2.c's run.c encodes the prompt of the golden test.
  EXPECT_EQ(t.encode("Once upon a time", true, false), (std::vector<uint32_t>{1, 9038, 2501, 263, 931}));
  EXPECT_EQ(t.encode("Hello world", false, true), (std::vector<uint32_t>{15043, 3186, 2}));
  // A newline has no piece of its own in LLaMA's vocabulary: byte token <0x0A> = 3 + 10.
  EXPECT_EQ(t.encode("a\nb", false, false), (std::vector<uint32_t>{263, 13, 29890}));
  EXPECT_TRUE(t.encode("", false, false).empty());
  EXPECT_EQ(t.encode("", true, true), (std::vector<uint32_t>{1, 2}));
}

TEST(Tokenizer, FallsBackToBytes) {
  const Tokenizer& t = real_tokenizer();
  // U+1F999 is not in the vocabulary: its four UTF-8 bytes become byte tokens (value + 3) after the
  // dummy-prefix space (29871).
  EXPECT_EQ(t.encode("\xF0\x9F\xA6\x99", false, false),
            (std::vector<uint32_t>{29871, 0xF0 + 3, 0x9F + 3, 0xA6 + 3, 0x99 + 3}));
  // Invalid UTF-8 (a lone continuation byte, a truncated sequence) round-trips byte for byte.
  const std::string bad = "x\x80y\xE2\x82";
  EXPECT_EQ(t.decode(t.encode(bad, true, false)), bad);
}

TEST(Tokenizer, RoundTripsRealText) {
  const Tokenizer& t = real_tokenizer();
  const std::string text = eval::moby_dick_text(test::data_path("texts/moby-dick"), 1, 3);
  ASSERT_GT(text.size(), 20000u);
  const std::vector<uint32_t> ids = t.encode(text, true, false);
  EXPECT_LT(ids.size(), text.size() / 2);  // real merging happened
  EXPECT_EQ(t.decode(ids), text);
  // Piece by piece, as generation streams it.
  std::string streamed;
  for (size_t i = 1; i < ids.size(); ++i) streamed += t.decode(ids[i - 1], ids[i]);
  EXPECT_EQ(streamed, text);
}

TEST(Tokenizer, DropsOnlyTheSpaceAfterBos) {
  const Tokenizer& t = real_tokenizer();
  EXPECT_EQ(t.decode(t.encode(" leading space", true, false)), " leading space");
  EXPECT_EQ(t.decode(t.encode("two  spaces", true, false)), "two  spaces");
  EXPECT_EQ(t.decode(1, 931), "time");
  EXPECT_EQ(t.decode(263, 931), " time");
  EXPECT_EQ(t.decode(263, 2), "");
}

TEST(Tokenizer, MergesByScoreLeftmostFirst) {
  // Pieces "a", "b", "ab", "ba" with "ab" scoring higher: "aba" -> " " + "ab" + "a".
  using T = TokenType;
  std::vector<std::string> pieces = {"<unk>", "<s>", "</s>", " ", "a", "b", "ab", "ba", " a"};
  std::vector<float> scores = {0, 0, 0, -100, -1, -2, -3, -4, -5};
  std::vector<T> types = {T::Unknown, T::Control, T::Control, T::Normal, T::Normal,
                          T::Normal,  T::Normal,  T::Normal,  T::Normal};
  const Tokenizer t(pieces, scores, types, 1, 2, "merge test");
  EXPECT_EQ(t.encode("aba", false, false), (std::vector<uint32_t>{3, 6, 4}));
  // With " a" scoring best, the dummy prefix merges first: " a" + "ba".
  scores[8] = 0.5f;
  const Tokenizer u(pieces, scores, types, 1, 2, "merge test");
  EXPECT_EQ(u.encode("aba", false, false), (std::vector<uint32_t>{8, 7}));
  // Ties go to the leftmost pair: "abab" with "ab" and "ba" equal -> "ab" "ab".
  scores[8] = -5.0f;
  scores[7] = -3.0f;
  const Tokenizer v(pieces, scores, types, 1, 2, "merge test");
  EXPECT_EQ(v.encode("abab", false, false), (std::vector<uint32_t>{3, 6, 6}));
}

TEST(Tokenizer, GgufVocabularyRoundTrips) {
  // The real tokenizer written into a GGUF (spaces as U+2581, bytes as <0xNN>) reads back equal.
  const test::TempDir dir;
  const model::Model m = model::load_model(test::stories15m_path());
  const std::string path = dir.file("stories15M.gguf");
  model::write_gguf(m, real_tokenizer(), path, model::GgmlType::F16);
  const model::GgufFile g(path);
  const auto& tokens = g.get_string_array("tokenizer.ggml.tokens");
  EXPECT_EQ(tokens[3 + 10], "<0x0A>");
  EXPECT_EQ(tokens[29871], "\xe2\x96\x81");  // the lone space
  EXPECT_EQ(tokens[1], "<s>");
  const Tokenizer back = model::load_gguf_tokenizer(g);
  ASSERT_EQ(back.vocab_size(), real_tokenizer().vocab_size());
  for (uint32_t id = 0; id < back.vocab_size(); ++id) {
    ASSERT_EQ(back.piece(id), real_tokenizer().piece(id)) << id;
    ASSERT_EQ(back.score(id), real_tokenizer().score(id)) << id;
    ASSERT_EQ(back.type(id), real_tokenizer().type(id)) << id;
  }
  const std::string text = "Once upon a time, \xF0\x9F\xA6\x99 said \"hi\".\n";
  EXPECT_EQ(back.encode(text, true, false), real_tokenizer().encode(text, true, false));
}

TEST(Tokenizer, WrongTokenizerIsNamed) {
  const test::TempDir dir;
  const std::string cut = dir.file("tokenizer_1000.bin");
  // The first 1000 records of the real file: a well-formed but wrong tokenizer for the model.
  std::vector<uint8_t> bytes = test::read_bytes(test::tokenizer_path());
  size_t at = 4;
  for (int i = 0; i < 1000; ++i) {
    int32_t len;
    std::memcpy(&len, &bytes[at + 4], 4);
    at += 8 + size_t(len);
  }
  bytes.resize(at);
  test::write_bytes(cut, bytes);
  const model::Model m = model::load_model(test::stories15m_path());
  test::expect_file_error([&] { model::load_tokenizer_for(m, cut); }, cut, "wrong tokenizer");
}

TEST(Tokenizer, BadFilesGiveOneClearError) {
  const test::TempDir dir;
  auto expect_error = [](const std::string& path, const std::string& problem) {
    test::expect_file_error([&] { model::load_tokenizer(path); }, path, problem);
  };
  expect_error(dir.file("missing.bin"), "cannot open");
  // A model file given as the tokenizer: its first record length is garbage.
  expect_error(test::stories15m_path(), "not a llama2.c tokenizer");
  // Cut inside a record.
  std::vector<uint8_t> bytes = test::read_bytes(test::tokenizer_path());
  bytes.resize(bytes.size() - 3);
  test::write_bytes(dir.file("truncated.bin"), bytes);
  expect_error(dir.file("truncated.bin"), "outside the file");
  // A negative token length.
  bytes = test::read_bytes(test::tokenizer_path());
  test::poke<int32_t>(bytes, 4 + 4, -7);
  test::write_bytes(dir.file("negative.bin"), bytes);
  expect_error(dir.file("negative.bin"), "length -7");
}
