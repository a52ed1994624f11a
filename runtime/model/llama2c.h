// llama2.c checkpoints: the legacy v0 layout (7 int32 header, negative vocab_size = separate
// classifier, unused RoPE tables before the classifier) and the v1 fp32 layout (magic "ak42",
// version 1, 256-byte header with a shared-classifier flag). Loading memory-maps the file and
// checks every size against the file before any weight is touched.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/file_io.h"

#include "model/weights.h"

namespace bitlens::model {

inline constexpr uint32_t kLlama2cMagic = 0x616b3432;  // "ak42" read as a little-endian uint32

// Loads a v0 or v1 checkpoint (told apart by the magic). Throws FileError naming the file. The
// model's weights point into `file`, which the model keeps alive.
Model load_llama2c(const std::string& path);
Model load_llama2c(std::shared_ptr<const MappedFile> file);

// Writes `model` as a llama2.c checkpoint of `version` 0 or 1 (fp32), atomically. v0 stores the
// RoPE tables llama2.c expects (rope_theta of the config, seq_len rows).
void write_llama2c(const Model& model, const std::string& path, int version);

}  // namespace bitlens::model
