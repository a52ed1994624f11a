// One entry point for model and tokenizer files: the format is told by the file's magic (GGUF,
// bitlens container, llama2.c v1 "ak42", else llama2.c v0), and a model's tokenizer is found the
// usual way.
#pragma once

#include <string>

#include "model/tokenizer.h"
#include "model/weights.h"

namespace bitlens::model {

enum class ModelFormat { Llama2c, Gguf, Container };
ModelFormat detect_model_format(const std::string& path);  // throws FileError if unreadable

// A quantized container is returned as the dense model it stands for (to_float_model), for the CPU
// reference; load the PackedModel itself with read_container.
Model load_model(const std::string& path);
// A llama2.c tokenizer.bin, or the vocabulary embedded in a GGUF file.
Tokenizer load_tokenizer(const std::string& path);
// The tokenizer of `model`: `tokenizer_path` if not empty, else the vocabulary of a GGUF model,
// else tokenizer.bin beside the model's file. Checked against the model.
Tokenizer load_tokenizer_for(const Model& model, const std::string& tokenizer_path);

}  // namespace bitlens::model
