// libFuzzer target: the llama2.c tokenizer.bin reader on arbitrary bytes, then encoding and
// decoding with whatever vocabulary it read. Any input must either load or raise bitlens::Error;
// a vocabulary with a byte token for every byte value must round-trip text exactly.
#include <bitset>
#include <cstddef>
#include <cstdint>

#include "common/error.h"
#include "common/file_io.h"
#include "model/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using bitlens::model::TokenType;
  const auto file = bitlens::MappedFile::from_memory("fuzz_tokenizer.bin", {data, size});
  try {
    const bitlens::model::Tokenizer t = bitlens::model::Tokenizer::load_llama2c(file);
    std::bitset<256> bytes;
    for (uint32_t id = 0; id < t.vocab_size(); ++id)
      if (t.type(id) == TokenType::Byte) bytes.set(uint8_t(t.piece(id)[0]));
    const std::string text = "Once upon a time, x\x80y \xE2\x82 \xF0\x9F\xA6\x99";
    if (t.decode(t.encode(text, true, true)) != text && bytes.all()) __builtin_trap();
  } catch (const bitlens::Error&) {
  }
  return 0;
}
