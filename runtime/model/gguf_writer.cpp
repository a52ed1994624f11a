// GgufWriter (see gguf.h): metadata serialized as it is added, tensor infos and aligned data
// assembled at write() and written atomically without copying the tensor data.
#include <cstring>

#include "common/error.h"
#include "common/file_io.h"
#include "model/gguf.h"  // GgufWriter

namespace bitlens::model {

namespace {

template <typename T>
void put(std::vector<uint8_t>& out, T v) {
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &v, sizeof(T));
}

void put_string(std::vector<uint8_t>& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

}  // namespace

void GgufWriter::key(const std::string& k, GgufType t) {
  put_string(meta_, k);
  put<uint32_t>(meta_, uint32_t(t));
  ++kv_count_;
}

void GgufWriter::add_u32(const std::string& k, uint32_t v) {
  key(k, GgufType::U32);
  put(meta_, v);
}

void GgufWriter::add_i32(const std::string& k, int32_t v) {
  key(k, GgufType::I32);
  put(meta_, v);
}

void GgufWriter::add_f32(const std::string& k, float v) {
  key(k, GgufType::F32);
  put(meta_, v);
}

void GgufWriter::add_bool(const std::string& k, bool v) {
  key(k, GgufType::Bool);
  put<uint8_t>(meta_, v ? 1 : 0);
}

void GgufWriter::add_string(const std::string& k, const std::string& v) {
  key(k, GgufType::String);
  put_string(meta_, v);
}

void GgufWriter::add_string_array(const std::string& k, const std::vector<std::string>& v) {
  key(k, GgufType::Array);
  put<uint32_t>(meta_, uint32_t(GgufType::String));
  put<uint64_t>(meta_, v.size());
  for (const auto& s : v) put_string(meta_, s);
}

void GgufWriter::add_f32_array(const std::string& k, std::span<const float> v) {
  key(k, GgufType::Array);
  put<uint32_t>(meta_, uint32_t(GgufType::F32));
  put<uint64_t>(meta_, v.size());
  for (float f : v) put(meta_, f);
}

void GgufWriter::add_i32_array(const std::string& k, std::span<const int32_t> v) {
  key(k, GgufType::Array);
  put<uint32_t>(meta_, uint32_t(GgufType::I32));
  put<uint64_t>(meta_, v.size());
  for (int32_t i : v) put(meta_, i);
}

void GgufWriter::add_tensor(const std::string& name, std::vector<uint64_t> dims, GgmlType type,
                            std::span<const uint8_t> data) {
  uint64_t elements = 1;
  for (uint64_t d : dims) elements *= d;
  if (dims.empty() || dims.size() > 4 || data.size() != elements * (type == GgmlType::F32 ? 4 : 2))
    throw Error("GgufWriter: tensor " + name + " has " + std::to_string(data.size()) + " bytes for its dimensions");
  tensors_.push_back({name, std::move(dims), type, data});
}

void GgufWriter::write(const std::string& path) const {
  std::vector<uint8_t> head;
  put<uint32_t>(head, kGgufMagic);
  put<uint32_t>(head, 3);
  put<uint64_t>(head, tensors_.size());
  put<uint64_t>(head, kv_count_);
  head.insert(head.end(), meta_.begin(), meta_.end());
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    put_string(head, t.name);
    put<uint32_t>(head, uint32_t(t.dims.size()));
    for (uint64_t d : t.dims) put<uint64_t>(head, d);
    put<uint32_t>(head, uint32_t(t.type));
    put<uint64_t>(head, offset);
    offset = align_up(offset + t.data.size(), kGgufDefaultAlignment);
  }
  head.resize(align_up(head.size(), kGgufDefaultAlignment), 0);

  static const uint8_t zeros[kGgufDefaultAlignment] = {};
  std::vector<std::span<const uint8_t>> parts{head};
  for (const Tensor& t : tensors_) {
    parts.push_back(t.data);
    const uint64_t pad = align_up(t.data.size(), kGgufDefaultAlignment) - t.data.size();
    if (pad) parts.push_back({zeros, size_t(pad)});
  }
  write_file_atomic(path, parts);
}

}  // namespace bitlens::model
