// GGUF files (versions 2 and 3, little-endian) as llama.cpp writes them: a header, typed key/value
// metadata (scalars, strings, arrays), tensor infos (dims fastest-first: ne[0] is the row length),
// and an aligned data section (general.alignment, default 32). GgufFile memory-maps and parses the
// file, checking every count, length and offset against the file before use; GgufWriter builds
// one and writes it atomically.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/file_io.h"

namespace bitlens::model {

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian uint32
inline constexpr uint32_t kGgufDefaultAlignment = 32;

enum class GgufType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12
};
const char* gguf_type_name(GgufType t);

// ggml tensor types this project reads and writes; every other type is refused by name.
enum class GgmlType : uint32_t { F32 = 0, F16 = 1 };
std::string ggml_type_name(uint32_t type);  // "F32", "Q4_K", ... or "type N"

struct GgufValue {
  GgufType type = GgufType::U8;
  GgufType array_type = GgufType::U8;  // element type when type == Array
  uint64_t count = 0;                  // array length
  int64_t i = 0;                       // integer and bool scalars
  uint64_t u = 0;                      // unsigned scalars (also in i when they fit)
  double f = 0.0;                      // float scalars
  std::string str;                     // String
  std::vector<std::string> strings;    // array of String
  std::vector<uint8_t> raw;            // array of numbers, little-endian as stored
};

struct GgufTensor {
  std::string name;
  std::vector<uint64_t> dims;  // ne[0] (fastest) first
  uint32_t type = 0;           // ggml type
  uint64_t offset = 0;         // from the start of the data section
  uint64_t elements = 0;
  const uint8_t* data = nullptr;  // checked to lie inside the file; null for types other than F32/F16
};

class GgufFile {
 public:
  explicit GgufFile(const std::string& path);  // throws FileError naming the file
  explicit GgufFile(std::shared_ptr<const MappedFile> file);

  const std::string& path() const { return file_->path(); }
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  const std::map<std::string, GgufValue>& metadata() const { return kv_; }
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  // The memory map the tensor data points into (keep it to keep the data alive).
  std::shared_ptr<const MappedFile> file() const { return file_; }

  const GgufValue* find(const std::string& key) const;
  const GgufTensor* find_tensor(const std::string& name) const;
  // Typed getters: throw FileError when the key is missing (unless a default is given) or holds
  // another type. Integer getters accept any integer type whose value fits.
  uint64_t get_uint(const std::string& key) const;
  uint64_t get_uint(const std::string& key, uint64_t fallback) const;
  float get_float(const std::string& key, float fallback) const;
  std::string get_string(const std::string& key) const;
  const std::vector<std::string>& get_string_array(const std::string& key) const;
  std::vector<float> get_f32_array(const std::string& key) const;
  std::vector<int32_t> get_i32_array(const std::string& key) const;

 private:
  const GgufValue& get(const std::string& key, GgufType type) const;
  const GgufValue& get_array(const std::string& key, GgufType element) const;

  std::shared_ptr<const MappedFile> file_;
  uint32_t version_ = 0, alignment_ = kGgufDefaultAlignment;
  std::map<std::string, GgufValue> kv_;
  std::vector<GgufTensor> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;  // name -> position in tensors_
};

// Collects metadata and tensors, then writes a GGUF v3 file atomically. Tensor data is not copied:
// it must stay alive until write().
class GgufWriter {
 public:
  void add_u32(const std::string& key, uint32_t v);
  void add_i32(const std::string& key, int32_t v);
  void add_f32(const std::string& key, float v);
  void add_bool(const std::string& key, bool v);
  void add_string(const std::string& key, const std::string& v);
  void add_string_array(const std::string& key, const std::vector<std::string>& v);
  void add_f32_array(const std::string& key, std::span<const float> v);
  void add_i32_array(const std::string& key, std::span<const int32_t> v);
  // dims fastest-first; data holds the product of dims elements of `type`.
  void add_tensor(const std::string& name, std::vector<uint64_t> dims, GgmlType type, std::span<const uint8_t> data);
  void write(const std::string& path) const;

 private:
  void key(const std::string& k, GgufType t);
  struct Tensor {
    std::string name;
    std::vector<uint64_t> dims;
    GgmlType type;
    std::span<const uint8_t> data;
  };
  std::vector<uint8_t> meta_;
  uint64_t kv_count_ = 0;
  std::vector<Tensor> tensors_;
};

}  // namespace bitlens::model
