// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/): small valid files of
// each format, so that fuzzing starts from inputs that reach deep into the parsers.
//   ./build-fuzz/tests/fuzz/make_fuzz_seeds tests/fuzz/corpus
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/file_io.h"
#include "model/container.h"
#include "model/gguf_model.h"
#include "model/llama2c.h"
#include "synthetic_model.h"

using namespace bitlens;

namespace {

// <unk>, <s>, </s>, the 256 byte tokens (stored raw, as the bundled tokenizer.bin does), " ", and
// a few merged pieces, as a llama2.c tokenizer.bin.
std::vector<uint8_t> tokenizer_bin(std::vector<std::string>& pieces) {
  pieces = {"<unk>", "\n<s>\n", "\n</s>\n"};
  for (int b = 0; b < 256; ++b) pieces.push_back(std::string(1, char(b)));
  for (const char* p : {" ", "e", "t", " t", "he", " the", "on", " a", "ce"}) pieces.push_back(p);
  std::vector<uint8_t> out;
  auto put = [&](const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
  };
  const int32_t max_len = 6;
  put(&max_len, 4);
  for (size_t i = 0; i < pieces.size(); ++i) {
    const float score = i < 259 ? 0.0f : -float(i);
    const int32_t len = int32_t(pieces[i].size());
    put(&score, 4);
    put(&len, 4);
    put(pieces[i].data(), pieces[i].size());
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_fuzz_seeds CORPUS_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  try {
    model::ModelConfig c;
    c.dim = 32;
    c.hidden_dim = 32;
    c.n_layers = 1;
    c.n_heads = 2;
    c.n_kv_heads = 1;
    c.vocab_size = 8;
    c.seq_len = 8;
    const model::Model m = test::synthetic_model(c, 1);
    model::write_container(dir + "/container/q4.blq", model::pack_model(m, {quant::Format::Q4, 32, quant::Format::Q8, 32}));
    model::write_container(dir + "/container/f16.blq", model::pack_model(m, {quant::Format::F16, 0, quant::Format::F32, 0}));

    // llama2.c checkpoints, GGUF files and a tokenizer.bin around one tiny model whose vocabulary
    // is that tokenizer's (268 tokens).
    std::vector<std::string> pieces;
    const std::vector<uint8_t> tok_bytes = tokenizer_bin(pieces);
    write_file_atomic(dir + "/tokenizer/tokenizer.bin", std::span<const uint8_t>(tok_bytes));
    const model::Tokenizer tok = model::Tokenizer::load_llama2c(dir + "/tokenizer/tokenizer.bin");
    model::ModelConfig t = c;
    t.dim = 8;
    t.hidden_dim = 16;
    t.vocab_size = tok.vocab_size();
    t.shared_classifier = false;
    const model::Model tiny = test::synthetic_model(t, 2);
    model::write_llama2c(tiny, dir + "/llama2c/v0.bin", 0);
    model::write_llama2c(tiny, dir + "/llama2c/v1.bin", 1);
    t.shared_classifier = true;
    const model::Model tied = test::synthetic_model(t, 3);
    model::write_gguf(tiny, tok, dir + "/gguf/f32.gguf", model::GgmlType::F32);
    model::write_gguf(tied, tok, dir + "/gguf/f16.gguf", model::GgmlType::F16);
  } catch (const Error& e) {
    std::fprintf(stderr, "make_fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
