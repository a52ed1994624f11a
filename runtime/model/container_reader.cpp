// Reading a .blq container with every field validated (docs/CONTAINER.md): header, checksums,
// tensor table, metadata, and each tensor's kind and shape against the model configuration.
#include <cstring>
#include <map>
#include <set>

#include "common/crc32.h"
#include "common/error.h"
#include "common/file_io.h"
#include "common/json_input.h"
#include "model/container.h"
#include "model/container_format.h"
#include "quant/lowbit.h"

namespace bitlens::model {

using namespace container_format;

namespace {

#ifdef BITLENS_FUZZING
constexpr bool kCheckCrc = false;
#else
constexpr bool kCheckCrc = true;
#endif

class Reader {
 public:
  explicit Reader(const MappedFile& file) : path_(file.path()), file_(file) {}

  LoadedContainer read() {
    read_header();
    read_table();
    read_metadata();
    LoadedContainer out;
    build(out.model);
    out.metadata.recipe = meta_.value("recipe", nlohmann::json::object());
    out.metadata.calibration = meta_.value("calibration", nlohmann::json::object());
    for (const auto& [name, e] : entries_)
      if (!used_.count(name)) fail("unexpected tensor '" + name + "'");
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const { throw FileError(path_, problem); }

  void read_header() {
    if (file_.size() < kHeaderBytes)
      fail("too small to be a bitlens container (" + std::to_string(file_.size()) + " bytes)");
    std::memcpy(&h_, file_.data(), kHeaderBytes);
    if (std::memcmp(h_.magic, kMagic, 8) != 0) fail("not a bitlens container (bad magic)");
    if (kCheckCrc && crc32(file_.range(0, kHeaderBytes - 4, "header")) != h_.header_crc)
      fail("header checksum mismatch: the file is corrupted");
    if (h_.version != kContainerVersion)
      fail("container version " + std::to_string(h_.version) + " is not supported (this bitlens reads version " +
           std::to_string(kContainerVersion) + ")");
    if (h_.alignment < 16 || h_.alignment > 4096 || (h_.alignment & (h_.alignment - 1)))
      fail("invalid tensor alignment " + std::to_string(h_.alignment));
    if (h_.file_bytes > file_.size())
      fail("truncated: " + std::to_string(file_.size()) + " of " + std::to_string(h_.file_bytes) + " bytes");
    if (h_.file_bytes < file_.size())
      fail(std::to_string(file_.size() - h_.file_bytes) + " unexpected bytes after the end of the container");
    if (h_.n_tensors == 0 || h_.n_tensors > kMaxTensors) fail("invalid tensor count " + std::to_string(h_.n_tensors));
    if (h_.table_bytes != uint64_t(h_.n_tensors) * kEntryBytes) fail("tensor table size does not match the count");
  }

  void read_table() {
    const auto table = file_.range(h_.table_offset, h_.table_bytes, "tensor table");
    if (kCheckCrc && crc32(table) != h_.table_crc) fail("tensor table checksum mismatch: the file is corrupted");
    for (uint32_t i = 0; i < h_.n_tensors; ++i) {
      Entry e;
      std::memcpy(&e, table.data() + size_t(i) * kEntryBytes, kEntryBytes);
      if (std::memchr(e.name, 0, kNameBytes) == nullptr || e.name[0] == 0) fail("tensor " + std::to_string(i) + " has an invalid name");
      const std::string name(e.name);
      if (e.offset % h_.alignment != 0) fail("tensor '" + name + "' is not aligned");
      const auto data = file_.range(e.offset, e.bytes, "tensor '" + name + "'");
      if (kCheckCrc && crc32(data) != e.crc) fail("tensor '" + name + "' checksum mismatch: the file is corrupted");
      if (!entries_.emplace(name, e).second) fail("duplicate tensor '" + name + "'");
    }
  }

  void read_metadata() {
    const auto text = file_.range(h_.metadata_offset, h_.metadata_bytes, "metadata");
    if (kCheckCrc && crc32(text) != h_.metadata_crc) fail("metadata checksum mismatch: the file is corrupted");
    meta_ = parse_json_input({reinterpret_cast<const char*>(text.data()), text.size()}, path_, "metadata");
    if (!meta_.is_object()) fail("metadata is not a JSON object");
  }

  const Entry& take(const std::string& name, Kind kind) {
    auto it = entries_.find(name);
    if (it == entries_.end()) fail("missing tensor '" + name + "'");
    if (it->second.kind != uint32_t(kind)) fail("tensor '" + name + "' has the wrong kind");
    used_.insert(name);
    return it->second;
  }

  void expect_shape(const std::string& name, const Entry& e, uint32_t rows, uint32_t cols) const {
    if (e.rows != rows || e.cols != cols)
      fail("tensor '" + name + "' is " + std::to_string(e.rows) + "x" + std::to_string(e.cols) + ", expected " +
           std::to_string(rows) + "x" + std::to_string(cols));
  }

  quant::PackedMatrix packed(const std::string& name, uint32_t rows, uint32_t cols) {
    const Entry& e = take(name, Kind::Packed);
    expect_shape(name, e, rows, cols);
    quant::PackedMatrix m;
    m.layout = {quant::Format(e.format), e.rows, e.cols, e.group_size, e.aux};
    try {
      quant::validate(m.layout);
      if (!quant::uses_groups(m.layout.format)) m.layout.group_size = 0;
    } catch (const Error& err) {
      fail("tensor '" + name + "': " + err.what());
    }
    const uint64_t code = m.layout.code_words(), params = m.layout.param_words();
    if (e.bytes != (code + params) * 4) fail("tensor '" + name + "' has the wrong size for " + m.layout.describe());
    const uint8_t* src = file_.data() + e.offset;
    m.words.assign(m.layout.total_words(), 0);
    std::memcpy(m.words.data(), src, code * 4);
    if (params) std::memcpy(m.words.data() + m.layout.params_offset_words(), src + code * 4, params * 4);
    try {
      quant::validate_tables(m);
    } catch (const Error& err) {
      fail("tensor '" + name + "': " + err.what());
    }
    return m;
  }

  template <class T>
  std::vector<T> array(const std::string& name, Kind kind, uint32_t rows, uint32_t cols) {
    const Entry& e = take(name, kind);
    expect_shape(name, e, rows, cols);
    if (e.bytes != uint64_t(rows) * cols * sizeof(T)) fail("tensor '" + name + "' has the wrong size");
    std::vector<T> v(size_t(rows) * cols);
    std::memcpy(v.data(), file_.data() + e.offset, e.bytes);
    return v;
  }

  ModelConfig config() const {
    ModelConfig c;
    try {
      const auto& j = meta_.at("config");
      c.dim = j.at("dim").get<uint32_t>();
      c.hidden_dim = j.at("hidden_dim").get<uint32_t>();
      c.n_layers = j.at("n_layers").get<uint32_t>();
      c.n_heads = j.at("n_heads").get<uint32_t>();
      c.n_kv_heads = j.at("n_kv_heads").get<uint32_t>();
      c.vocab_size = j.at("vocab_size").get<uint32_t>();
      c.seq_len = j.at("seq_len").get<uint32_t>();
      c.rope_theta = j.at("rope_theta").get<float>();
      c.norm_eps = j.at("norm_eps").get<float>();
      c.shared_classifier = j.at("shared_classifier").get<bool>();
    } catch (const nlohmann::json::exception& e) {
      fail(std::string("metadata config: ") + e.what());
    }
    validate(c, path_);
    return c;
  }

  void build(PackedModel& m) {
    m.config = config();
    const ModelConfig& c = m.config;
    m.token_embedding = packed("token_embedding", c.vocab_size, c.dim);
    if (!c.shared_classifier) m.classifier = packed("classifier", c.vocab_size, c.dim);
    m.rms_final = array<float>("rms_final", Kind::F32, 1, c.dim);
    if (!meta_.contains("layers") || !meta_["layers"].is_array() || meta_["layers"].size() != c.n_layers)
      fail("metadata lists " + std::string(meta_.contains("layers") ? "the wrong number of" : "no") + " layers");
    const uint32_t shapes[kLinearsPerLayer][2] = {{c.dim, c.dim}, {c.kv_dim(), c.dim}, {c.kv_dim(), c.dim},
                                                  {c.dim, c.dim}, {c.hidden_dim, c.dim}, {c.dim, c.hidden_dim},
                                                  {c.hidden_dim, c.dim}};
    for (uint32_t i = 0; i < c.n_layers; ++i) {
      PackedLayer l;
      const std::string b = "blk." + std::to_string(i) + ".";
      l.rms_att = array<float>(b + "rms_att", Kind::F32, 1, c.dim);
      l.rms_ffn = array<float>(b + "rms_ffn", Kind::F32, 1, c.dim);
      for (uint32_t k = 0; k < kLinearsPerLayer; ++k) {
        const std::string name = b + linear_name(Linear(k));
        const uint32_t rows = shapes[k][0], cols = shapes[k][1];
        quant::PackedLinear& lin = l.linears[k];
        lin.weight = packed(name, rows, cols);
        try {
          const auto& j = meta_["layers"][i].at(linear_name(Linear(k)));
          lin.rotation.input = j.at("input_rotation").get<bool>();
          lin.rotation.output = j.at("output_rotation").get<bool>();
          lin.lora_rank = j.at("lora_rank").get<uint32_t>();
          lin.lora_scale = j.at("lora_scale").get<float>();
        } catch (const nlohmann::json::exception& e) {
          fail("metadata for " + name + ": " + e.what());
        }
        if (lin.rotation.input && entries_.count(name + ".input_signs"))
          lin.rotation.input_signs = array<uint32_t>(name + ".input_signs", Kind::U32, 1, (cols + 31) / 32);
        if (lin.rotation.output && entries_.count(name + ".output_signs"))
          lin.rotation.output_signs = array<uint32_t>(name + ".output_signs", Kind::U32, 1, (rows + 31) / 32);
        if (lin.lora_rank) {
          if (lin.lora_rank > std::min(rows, cols)) fail(name + ": LoRA rank " + std::to_string(lin.lora_rank) + " is too large");
          lin.lora_a = array<uint16_t>(name + ".lora_a", Kind::U16, lin.lora_rank, cols);
          lin.lora_b = array<uint16_t>(name + ".lora_b", Kind::U16, rows, lin.lora_rank);
        }
      }
      m.layers.push_back(std::move(l));
    }
  }

  std::string path_;
  const MappedFile& file_;
  Header h_{};
  std::map<std::string, Entry> entries_;
  std::set<std::string> used_;
  nlohmann::json meta_;
};

}  // namespace

LoadedContainer read_container(const std::string& path) { return read_container(MappedFile(path)); }

LoadedContainer read_container(const MappedFile& file) { return Reader(file).read(); }

}  // namespace bitlens::model
