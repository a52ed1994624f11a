// PackedLinear <-> bytes (see linear_bytes.h). Layout, little-endian: "BLPL", u32 version, the
// layout (format, rows, cols, group size, aux), then length-prefixed (u64 count) arrays: weight
// words, input signs, output signs, LoRA A, LoRA B; the rotation flags, LoRA rank and scale.
#include "model/linear_bytes.h"

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "quant/lowbit.h"
#include "quant/packing.h"

namespace bitlens::model {

namespace {

constexpr char kMagic[4] = {'B', 'L', 'P', 'L'};
constexpr uint32_t kVersion = 1;

class Writer {
 public:
  template <class T>
  void put(const T& v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
  }
  template <class T>
  void put_array(const std::vector<T>& v) {
    put(uint64_t(v.size()));
    const auto* p = reinterpret_cast<const uint8_t*>(v.data());
    out.insert(out.end(), p, p + v.size() * sizeof(T));
  }
  std::vector<uint8_t> out;
};

class Reader {
 public:
  Reader(std::span<const uint8_t> bytes, const std::string& source) : bytes_(bytes), source_(source) {}
  template <class T>
  T get(const char* what) {
    T v;
    std::memcpy(&v, take(sizeof(T), what), sizeof(T));
    return v;
  }
  // An array of `expected` elements, or (with `may_be_empty`) none.
  template <class T>
  std::vector<T> get_array(const char* what, uint64_t expected, bool may_be_empty = false) {
    const uint64_t n = get<uint64_t>(what);
    if (n != expected && !(may_be_empty && n == 0)) fail(std::string(what) + " has " + std::to_string(n) + " elements, expected " + std::to_string(expected));
    std::vector<T> v(n);
    if (n) std::memcpy(v.data(), take(n * sizeof(T), what), n * sizeof(T));
    return v;
  }
  void expect_end() const {
    if (at_ != bytes_.size()) fail(std::to_string(bytes_.size() - at_) + " bytes after the layer");
  }
  [[noreturn]] void fail(const std::string& problem) const { throw FileError(source_, "packed layer: " + problem); }

 private:
  const uint8_t* take(uint64_t n, const char* what) {
    if (n > bytes_.size() - at_) fail(std::string("truncated in ") + what);
    const uint8_t* p = bytes_.data() + at_;
    at_ += n;
    return p;
  }
  std::span<const uint8_t> bytes_;
  std::string source_;
  size_t at_ = 0;
};

uint64_t sign_words(uint32_t n) { return (uint64_t(n) + 31) / 32; }

}  // namespace

std::vector<uint8_t> linear_to_bytes(const quant::PackedLinear& l) {
  Writer w;
  w.put(kMagic);
  w.put(kVersion);
  const quant::PackedLayout& p = l.weight.layout;
  for (uint32_t v : {uint32_t(p.format), p.rows, p.cols, p.group_size, p.aux}) w.put(v);
  w.put_array(l.weight.words);
  w.put(uint32_t(l.rotation.input));
  w.put_array(l.rotation.input_signs);
  w.put(uint32_t(l.rotation.output));
  w.put_array(l.rotation.output_signs);
  w.put(l.lora_rank);
  w.put(l.lora_scale);
  w.put_array(l.lora_a);
  w.put_array(l.lora_b);
  return std::move(w.out);
}

quant::PackedLinear linear_from_bytes(std::span<const uint8_t> bytes, const std::string& source) {
  Reader r(bytes, source);
  char magic[4];
  for (char& c : magic) c = r.get<char>("magic");
  if (std::memcmp(magic, kMagic, 4) != 0) r.fail("bad magic");
  if (const uint32_t v = r.get<uint32_t>("version"); v != kVersion) r.fail("unsupported version " + std::to_string(v));
  quant::PackedLinear l;
  quant::PackedLayout& p = l.weight.layout;
  p.format = quant::Format(r.get<uint32_t>("format"));
  p.rows = r.get<uint32_t>("rows");
  p.cols = r.get<uint32_t>("cols");
  p.group_size = r.get<uint32_t>("group size");
  p.aux = r.get<uint32_t>("aux");
  try {
    quant::validate(p);
  } catch (const Error& e) {
    r.fail(e.what());
  }
  l.weight.words = r.get_array<uint32_t>("weight words", p.total_words());
  try {
    quant::validate_tables(l.weight);
  } catch (const Error& e) {
    r.fail(e.what());
  }
  l.rotation.input = r.get<uint32_t>("input rotation") != 0;
  l.rotation.input_signs = r.get_array<uint32_t>("input signs", l.rotation.input ? sign_words(p.cols) : 0, true);
  l.rotation.output = r.get<uint32_t>("output rotation") != 0;
  l.rotation.output_signs = r.get_array<uint32_t>("output signs", l.rotation.output ? sign_words(p.rows) : 0, true);
  l.lora_rank = r.get<uint32_t>("LoRA rank");
  if (l.lora_rank > std::min(p.rows, p.cols)) r.fail("LoRA rank " + std::to_string(l.lora_rank) + " exceeds the layer");
  l.lora_scale = r.get<float>("LoRA scale");
  l.lora_a = r.get_array<uint16_t>("LoRA A", uint64_t(l.lora_rank) * p.cols);
  l.lora_b = r.get_array<uint16_t>("LoRA B", uint64_t(p.rows) * l.lora_rank);
  r.expect_end();
  return l;
}

}  // namespace bitlens::model
