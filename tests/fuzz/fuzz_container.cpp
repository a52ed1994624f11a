// libFuzzer target: the .blq container reader on arbitrary bytes, then the dense model it stands
// for (every format's dequantization, LoRA and rotations) and one position of the CPU forward pass.
// Any input must either load or raise bitlens::Error; crashes, hangs, leaks and huge allocations are
// bugs.
#include <cstddef>
#include <cstdint>

#include "common/error.h"
#include "common/file_io.h"
#include "model/container.h"
#include "model/cpu_forward.h"
#include "model/float_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto file = bitlens::MappedFile::from_memory("fuzz.blq", {data, size});
  try {
    const bitlens::model::LoadedContainer loaded = bitlens::model::read_container(file);
    bitlens::model::CpuForward forward(bitlens::model::to_float_model(loaded.model));
    const uint32_t token = loaded.model.config.vocab_size - 1;
    forward.prefill({&token, 1}, 0, false);
  } catch (const bitlens::Error&) {
  }
  return 0;
}
