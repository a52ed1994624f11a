// GGUF parsing with every count, length and offset checked against the file (see gguf.h).
#include "model/gguf.h"

#include <cstring>

#include "common/error.h"

namespace bitlens::model {

const char* gguf_type_name(GgufType t) {
  static const char* names[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                "bool", "string", "array", "u64", "i64", "f64"};
  return uint32_t(t) < 13 ? names[uint32_t(t)] : "unknown";
}

std::string ggml_type_name(uint32_t type) {
  static const char* names[] = {"F32",     "F16",    "Q4_0",    "Q4_1",  "Q4_2",   "Q4_3",  "Q5_0",  "Q5_1",
                                "Q8_0",    "Q8_1",   "Q2_K",    "Q3_K",  "Q4_K",   "Q5_K",  "Q6_K",  "Q8_K",
                                "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS",
                                "I8",      "I16",    "I32",     "I64",   "F64",    "IQ1_M", "BF16"};
  if (type < sizeof(names) / sizeof(names[0])) return names[type];
  return "type " + std::to_string(type);
}

namespace {

uint64_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::Bool: return 1;
    case GgufType::U16:
    case GgufType::I16: return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32: return 4;
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64: return 8;
    default: return 0;
  }
}

// A bounds-checked cursor over the mapped file.
class Reader {
 public:
  explicit Reader(const MappedFile& f) : f_(f) {}

  template <typename T>
  T read(const std::string& what) {
    T v;
    std::memcpy(&v, f_.range(pos_, sizeof(T), what).data(), sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::span<const uint8_t> bytes(uint64_t n, const std::string& what) {
    auto r = f_.range(pos_, n, what);
    pos_ += n;
    return r;
  }
  std::string string(const std::string& what) {
    const uint64_t n = read<uint64_t>(what + " length");
    if (n > remaining())
      throw FileError(f_.path(),
                      what + " has length " + std::to_string(n) + ", past the end of the file: truncated or corrupted");
    auto b = bytes(n, what);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  // Refuses a count of items of at least min_bytes each that cannot fit in the rest of the file.
  void check_count(uint64_t count, uint64_t min_bytes, const std::string& what) const {
    if (min_bytes && count > remaining() / min_bytes)
      throw FileError(f_.path(), what + " " + std::to_string(count) + " cannot fit in the " +
                                     std::to_string(remaining()) + " bytes left: truncated or corrupted");
  }
  uint64_t remaining() const { return f_.size() - pos_; }
  uint64_t pos() const { return pos_; }
  const std::string& path() const { return f_.path(); }

 private:
  const MappedFile& f_;
  uint64_t pos_ = 0;
};

GgufType read_type(Reader& r, const std::string& what) {
  const uint32_t t = r.read<uint32_t>(what + " type");
  if (t > uint32_t(GgufType::F64)) throw FileError(r.path(), what + " has unknown value type " + std::to_string(t));
  return GgufType(t);
}

void read_scalar(Reader& r, GgufType t, GgufValue& v, const std::string& what) {
  switch (t) {
    case GgufType::U8:
      v.u = r.read<uint8_t>(what);
      v.i = int64_t(v.u);
      break;
    case GgufType::I8: v.i = r.read<int8_t>(what); break;
    case GgufType::U16:
      v.u = r.read<uint16_t>(what);
      v.i = int64_t(v.u);
      break;
    case GgufType::I16: v.i = r.read<int16_t>(what); break;
    case GgufType::U32:
      v.u = r.read<uint32_t>(what);
      v.i = int64_t(v.u);
      break;
    case GgufType::I32: v.i = r.read<int32_t>(what); break;
    case GgufType::U64:
      v.u = r.read<uint64_t>(what);
      v.i = int64_t(v.u);
      break;
    case GgufType::I64: v.i = r.read<int64_t>(what); break;
    case GgufType::F32: v.f = r.read<float>(what); break;
    case GgufType::F64: v.f = r.read<double>(what); break;
    case GgufType::Bool: {
      const uint8_t b = r.read<uint8_t>(what);
      if (b > 1) throw FileError(r.path(), what + " is a bool holding " + std::to_string(b));
      v.i = b;
      break;
    }
    case GgufType::String: v.str = r.string(what); break;
    case GgufType::Array: break;
  }
  if (t == GgufType::U8 || t == GgufType::U16 || t == GgufType::U32 || t == GgufType::U64) return;
  if (v.i >= 0) v.u = uint64_t(v.i);
}

GgufValue read_value(Reader& r, const std::string& what) {
  GgufValue v;
  v.type = read_type(r, what);
  if (v.type != GgufType::Array) {
    read_scalar(r, v.type, v, what);
    return v;
  }
  v.array_type = read_type(r, what + " element");
  v.count = r.read<uint64_t>(what + " count");
  if (v.array_type == GgufType::Array) throw FileError(r.path(), what + " is an array of arrays (not supported)");
  if (v.array_type == GgufType::String) {
    r.check_count(v.count, 8, what + " count");
    v.strings.reserve(v.count);
    for (uint64_t i = 0; i < v.count; ++i) v.strings.push_back(r.string(what + "[" + std::to_string(i) + "]"));
  } else {
    r.check_count(v.count, scalar_size(v.array_type), what + " count");
    auto b = r.bytes(v.count * scalar_size(v.array_type), what);
    v.raw.assign(b.begin(), b.end());
  }
  return v;
}

GgufTensor read_tensor_info(Reader& r, uint64_t index) {
  GgufTensor t;
  t.name = r.string("tensor " + std::to_string(index) + " name");
  const std::string what = "tensor " + t.name;
  const uint32_t n_dims = r.read<uint32_t>(what + " dimension count");
  if (n_dims == 0 || n_dims > 4) throw FileError(r.path(), what + " has " + std::to_string(n_dims) + " dimensions");
  t.elements = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    const uint64_t n = r.read<uint64_t>(what + " dimension");
    if (n == 0 || n > (uint64_t(1) << 40) || __builtin_mul_overflow(t.elements, n, &t.elements) ||
        t.elements > (uint64_t(1) << 48))
      throw FileError(r.path(), what + " has an impossible dimension " + std::to_string(n));
    t.dims.push_back(n);
  }
  t.type = r.read<uint32_t>(what + " type");
  t.offset = r.read<uint64_t>(what + " offset");
  return t;
}

}  // namespace

GgufFile::GgufFile(const std::string& path) : GgufFile(std::make_shared<const MappedFile>(path)) {}

GgufFile::GgufFile(std::shared_ptr<const MappedFile> file) : file_(std::move(file)) {
  const std::string& path = file_->path();
  Reader r(*file_);
  if (file_->size() < 4 || r.read<uint32_t>("magic") != kGgufMagic)
    throw FileError(path, "not a GGUF file (bad magic)");
  version_ = r.read<uint32_t>("version");
  if (version_ != 2 && version_ != 3) {
    if (version_ == 0x02000000u || version_ == 0x03000000u) throw FileError(path, "big-endian GGUF is not supported");
    throw FileError(path, "GGUF version " + std::to_string(version_) + " is not supported (only 2 and 3)");
  }
  const uint64_t n_tensors = r.read<uint64_t>("tensor count");
  const uint64_t n_kv = r.read<uint64_t>("metadata count");
  r.check_count(n_kv, 13, "metadata count");
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = r.string("metadata key " + std::to_string(i));
    GgufValue v = read_value(r, "metadata " + key);
    if (!kv_.emplace(key, std::move(v)).second) throw FileError(path, "metadata key " + key + " appears twice");
  }
  if (const GgufValue* a = find("general.alignment")) {
    if (a->type != GgufType::U32 || a->u == 0 || (a->u & (a->u - 1)) != 0 || a->u > (1u << 20))
      throw FileError(path, "general.alignment must be a power of two (u32)");
    alignment_ = uint32_t(a->u);
  }
  r.check_count(n_tensors, 32, "tensor count");
  for (uint64_t i = 0; i < n_tensors; ++i) {
    tensors_.push_back(read_tensor_info(r, i));
    if (!tensor_index_.emplace(tensors_.back().name, size_t(i)).second)
      throw FileError(path, "tensor " + tensors_.back().name + " appears twice");
  }
  const uint64_t data_start = (r.pos() + alignment_ - 1) / alignment_ * alignment_;
  if (data_start > file_->size()) throw FileError(path, "the tensor data section lies past the end of the file");
  for (GgufTensor& t : tensors_) {
    if (t.offset % alignment_ != 0)
      throw FileError(path, "tensor " + t.name + " offset " + std::to_string(t.offset) + " is not aligned to " +
                                std::to_string(alignment_));
    if (t.type != uint32_t(GgmlType::F32) && t.type != uint32_t(GgmlType::F16)) continue;
    const uint64_t bytes = t.elements * (t.type == uint32_t(GgmlType::F32) ? 4 : 2);
    if (t.offset > file_->size() - data_start)
      throw FileError(path, "tensor " + t.name + " offset " + std::to_string(t.offset) +
                                " lies past the end of the file: truncated or corrupted");
    t.data = file_->range(data_start + t.offset, bytes, "tensor " + t.name).data();
  }
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

const GgufTensor* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufValue& GgufFile::get(const std::string& key, GgufType type) const {
  const GgufValue* v = find(key);
  if (!v) throw FileError(path(), "metadata key " + key + " is missing");
  if (v->type != type)
    throw FileError(path(),
                    "metadata key " + key + " is " + gguf_type_name(v->type) + ", expected " + gguf_type_name(type));
  return *v;
}

const GgufValue& GgufFile::get_array(const std::string& key, GgufType element) const {
  const GgufValue& v = get(key, GgufType::Array);
  if (v.array_type != element)
    throw FileError(path(), "metadata key " + key + " is an array of " + gguf_type_name(v.array_type) + ", expected " +
                                gguf_type_name(element));
  return v;
}

uint64_t GgufFile::get_uint(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) throw FileError(path(), "metadata key " + key + " is missing");
  const GgufType t = v->type;
  const bool is_unsigned = t == GgufType::U8 || t == GgufType::U16 || t == GgufType::U32 || t == GgufType::U64;
  const bool is_signed = t == GgufType::I8 || t == GgufType::I16 || t == GgufType::I32 || t == GgufType::I64;
  if (!(is_unsigned || (is_signed && v->i >= 0)))
    throw FileError(path(), "metadata key " + key + " must be a non-negative integer");
  return v->u;
}

uint64_t GgufFile::get_uint(const std::string& key, uint64_t fallback) const {
  return find(key) ? get_uint(key) : fallback;
}

float GgufFile::get_float(const std::string& key, float fallback) const {
  const GgufValue* v = find(key);
  if (!v) return fallback;
  if (v->type != GgufType::F32 && v->type != GgufType::F64)
    throw FileError(path(), "metadata key " + key + " is " + gguf_type_name(v->type) + ", expected f32");
  return float(v->f);
}

std::string GgufFile::get_string(const std::string& key) const { return get(key, GgufType::String).str; }

const std::vector<std::string>& GgufFile::get_string_array(const std::string& key) const {
  return get_array(key, GgufType::String).strings;
}

std::vector<float> GgufFile::get_f32_array(const std::string& key) const {
  const GgufValue& v = get_array(key, GgufType::F32);
  std::vector<float> out(v.count);
  std::memcpy(out.data(), v.raw.data(), v.raw.size());
  return out;
}

std::vector<int32_t> GgufFile::get_i32_array(const std::string& key) const {
  const GgufValue& v = get_array(key, GgufType::I32);
  std::vector<int32_t> out(v.count);
  std::memcpy(out.data(), v.raw.data(), v.raw.size());
  return out;
}

}  // namespace bitlens::model
