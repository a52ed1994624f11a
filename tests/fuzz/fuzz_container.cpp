// libFuzzer target: the .blq container reader on arbitrary bytes. Any input must either load or
// raise bitlens::Error; crashes, hangs, leaks and huge allocations are bugs.
#include <cstddef>
#include <cstdint>

#include "common/error.h"
#include "common/file_io.h"
#include "model/container.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto file = bitlens::MappedFile::from_memory("fuzz.blq", {data, size});
  try {
    bitlens::model::read_container(file);
  } catch (const bitlens::Error&) {
  }
  return 0;
}
