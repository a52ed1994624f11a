// LLaMA models and vocabularies in GGUF, as llama.cpp and its converters write them: F32/F16
// tensors named token_embd / blk.N.* / output_norm / output (absent: tied to the embedding), the
// llama.* hyper-parameters, and the tokenizer.ggml.* SentencePiece vocabulary. Q/K weights are in
// the layout of llama.cpp's LLAMA architecture (adjacent-pair RoPE), which is llama2.c's, so they
// are read and written without any permutation.
#pragma once

#include <string>

#include "model/gguf.h"
#include "model/tokenizer.h"
#include "model/weights.h"

namespace bitlens::model {

// F32 tensors are used in place from the memory map; F16 ones are converted to floats. Any other
// tensor type, architecture or shape is refused with a FileError naming the file.
Model load_gguf_model(const std::string& path);
Model load_gguf_model(const GgufFile& file);
Tokenizer load_gguf_tokenizer(const GgufFile& file);

// Writes `model` with `tokenizer` embedded as a GGUF v3 file llama.cpp can load: the matrices in
// `type` (F32 or F16), the norms in F32 (as llama.cpp's converters do), atomically.
void write_gguf(const Model& model, const Tokenizer& tokenizer, const std::string& path, GgmlType type);

}  // namespace bitlens::model
