// libFuzzer target: the llama2.c checkpoint reader (v0 and v1) on arbitrary bytes. Any input must
// either load or raise bitlens::Error; crashes, hangs, leaks and huge allocations are bugs.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/error.h"
#include "common/file_io.h"
#include "model/llama2c.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = std::make_shared<const bitlens::MappedFile>(bitlens::MappedFile::from_memory("fuzz.bin", {data, size}));
  try {
    const bitlens::model::Model m = bitlens::model::load_llama2c(file);
    bitlens::model::check_shapes(m, "fuzz.bin");
  } catch (const bitlens::Error&) {
  }
  return 0;
}
