// libFuzzer target: the GGUF reader, the LLaMA model loader and the GGUF vocabulary on arbitrary
// bytes. Any input must either load or raise bitlens::Error; crashes, hangs, leaks and huge
// allocations are bugs.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/error.h"
#include "common/file_io.h"
#include "model/gguf_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = std::make_shared<const bitlens::MappedFile>(bitlens::MappedFile::from_memory("fuzz.gguf", {data, size}));
  try {
    const bitlens::model::GgufFile g(file);
    try {
      bitlens::model::load_gguf_model(g);
    } catch (const bitlens::Error&) {
    }
    const bitlens::model::Tokenizer t = bitlens::model::load_gguf_tokenizer(g);
    t.decode(t.encode("Once upon a time \xF0\x9F\xA6\x99", true, true));
  } catch (const bitlens::Error&) {
  }
  return 0;
}
