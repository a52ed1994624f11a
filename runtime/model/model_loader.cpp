// Format detection and default tokenizer lookup (see model_loader.h).
#include "model/model_loader.h"

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
  return is_container(path) ? ModelFormat::Container : ModelFormat::Llama2c;
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

Tokenizer load_tokenizer_for(const Model& model, const std::string& tokenizer_path) {
  std::string path = tokenizer_path;
  if (path.empty()) {
    if (detect_model_format(model.source) == ModelFormat::Gguf)
      path = model.source;
    else
      path = (std::filesystem::path(model.source).parent_path() / "tokenizer.bin").string();
  }
  Tokenizer t = load_tokenizer(path);
  t.check_model(model.config, model.source);
  return t;
}

}  // namespace bitlens::model
