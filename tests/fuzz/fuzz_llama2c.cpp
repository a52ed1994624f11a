// libFuzzer target: the llama2.c checkpoint reader (v0 and v1) on arbitrary bytes, then one
// position of the CPU forward pass on whatever model it read. Any input must either load or raise
// bitlens::Error; crashes, hangs, leaks and huge allocations are bugs.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "common/error.h"
#include "common/file_io.h"
#include "model/cpu_forward.h"
#include "model/llama2c.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = std::make_shared<const bitlens::MappedFile>(bitlens::MappedFile::from_memory("fuzz.bin", {data, size}));
  try {
    const bitlens::model::Model m = bitlens::model::load_llama2c(file);
    bitlens::model::check_shapes(m, "fuzz.bin");
    bitlens::model::CpuForward forward(m);
    const uint32_t token = m.config.vocab_size - 1;
    forward.prefill({&token, 1}, 0, false);
  } catch (const bitlens::Error&) {
  }
  return 0;
}
