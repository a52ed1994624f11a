// Format detection and default tokenizer lookup (see model_loader.h).
#include "model/model_loader.h"

#include <cctype>
#include <cstring>
#include <filesystem>

#include "common/error.h"
#include "common/file_io.h"
#include "model/container.h"
#include "model/float_model.h"
#include "model/gguf_model.h"
#include "model/llama2c.h"

namespace bitlens::model {

ModelFormat detect_model_format(const std::string& path) {
  const MappedFile f(path);
  uint32_t magic = 0;
  if (f.size() >= 4) std::memcpy(&magic, f.data(), 4);
  if (magic == kGgufMagic) return ModelFormat::Gguf;
  if (is_container(path)) return ModelFormat::Container;
  // llama2.c checkpoints have no magic; a .blq file without the container's is a damaged container,
  // and the container reader says so (rather than the llama2.c reader guessing at its header).
  std::string ext = std::filesystem::path(path).extension().string();
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".blq" ? ModelFormat::Container : ModelFormat::Llama2c;
}

Model load_model(const std::string& path) {
  switch (detect_model_format(path)) {
    case ModelFormat::Gguf: return load_gguf_model(path);
    case ModelFormat::Llama2c: return load_llama2c(path);
    case ModelFormat::Container: break;
  }
  Model m = to_float_model(read_container(path).model);
  m.source = path;
  return m;
}

Tokenizer load_tokenizer(const std::string& path) {
  if (detect_model_format(path) == ModelFormat::Gguf) return load_gguf_tokenizer(GgufFile(path));
  return Tokenizer::load_llama2c(path);
}

std::string tokenizer_path_for(const Model& model, const std::string& tokenizer_path) {
  if (!tokenizer_path.empty()) return tokenizer_path;
  if (detect_model_format(model.source) == ModelFormat::Gguf) return model.source;
  return (std::filesystem::path(model.source).parent_path() / "tokenizer.bin").string();
}

Tokenizer load_tokenizer_for(const Model& model, const std::string& tokenizer_path) {
  Tokenizer t = load_tokenizer(tokenizer_path_for(model, tokenizer_path));
  t.check_model(model.config, model.source);
  return t;
}

}  // namespace bitlens::model
