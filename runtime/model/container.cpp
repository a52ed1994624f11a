// Writing and validating reading of .blq containers (format in docs/CONTAINER.md).
#include "model/container.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

#include "common/crc32.h"
#include "common/error.h"
#include "common/file_io.h"
#include "model/container_format.h"

namespace bitlens::model {

using namespace container_format;

namespace {

std::span<const uint8_t> as_bytes(const void* p, size_t n) { return {static_cast<const uint8_t*>(p), n}; }
uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// One tensor to write: its table entry and its bytes.
struct Blob {
  Entry entry{};
  std::vector<uint8_t> data;
};

Blob packed_blob(const std::string& name, const quant::PackedMatrix& m) {
  Blob b;
  std::strncpy(b.entry.name, name.c_str(), kNameBytes - 1);
  b.entry.kind = uint32_t(Kind::Packed);
  b.entry.format = uint32_t(m.layout.format);
  b.entry.rows = m.layout.rows;
  b.entry.cols = m.layout.cols;
  b.entry.group_size = m.layout.group_size;
  b.entry.aux = m.layout.aux;
  // Codes then parameters, without the in-memory alignment gap between them.
  const uint64_t code = m.layout.code_words(), params = m.layout.param_words();
  b.data.resize((code + params) * 4);
  std::memcpy(b.data.data(), m.words.data(), code * 4);
  if (params) std::memcpy(b.data.data() + code * 4, m.words.data() + m.layout.params_offset_words(), params * 4);
  return b;
}

template <class T>
Blob array_blob(const std::string& name, Kind kind, const std::vector<T>& v, uint32_t rows, uint32_t cols) {
  Blob b;
  std::strncpy(b.entry.name, name.c_str(), kNameBytes - 1);
  b.entry.kind = uint32_t(kind);
  b.entry.rows = rows;
  b.entry.cols = cols;
  b.data.resize(v.size() * sizeof(T));
  std::memcpy(b.data.data(), v.data(), b.data.size());
  return b;
}

std::string layer_name(size_t i, const char* what) { return "blk." + std::to_string(i) + "." + what; }

nlohmann::json config_json(const ModelConfig& c) {
  return {{"dim", c.dim},         {"hidden_dim", c.hidden_dim}, {"n_layers", c.n_layers},
          {"n_heads", c.n_heads}, {"n_kv_heads", c.n_kv_heads}, {"vocab_size", c.vocab_size},
          {"seq_len", c.seq_len}, {"rope_theta", c.rope_theta}, {"norm_eps", c.norm_eps},
          {"shared_classifier", c.shared_classifier}};
}

}  // namespace

void write_container(const std::string& path, const PackedModel& m, const ContainerMetadata& metadata,
                     const Cancellation* cancel) {
  std::vector<Blob> blobs;
  blobs.push_back(packed_blob("token_embedding", m.token_embedding));
  if (m.classifier) blobs.push_back(packed_blob("classifier", *m.classifier));
  blobs.push_back(array_blob("rms_final", Kind::F32, m.rms_final, 1, uint32_t(m.rms_final.size())));
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < m.layers.size(); ++i) {
    const PackedLayer& l = m.layers[i];
    blobs.push_back(array_blob(layer_name(i, "rms_att"), Kind::F32, l.rms_att, 1, uint32_t(l.rms_att.size())));
    blobs.push_back(array_blob(layer_name(i, "rms_ffn"), Kind::F32, l.rms_ffn, 1, uint32_t(l.rms_ffn.size())));
    nlohmann::json lj = nlohmann::json::object();
    for (uint32_t k = 0; k < kLinearsPerLayer; ++k) {
      const quant::PackedLinear& lin = l.linears[k];
      const std::string base = layer_name(i, linear_name(Linear(k)));
      blobs.push_back(packed_blob(base, lin.weight));
      const uint32_t rows = lin.weight.layout.rows, cols = lin.weight.layout.cols;
      if (lin.rotation.input && !lin.rotation.input_signs.empty())
        blobs.push_back(array_blob(base + ".input_signs", Kind::U32, lin.rotation.input_signs, 1, uint32_t(lin.rotation.input_signs.size())));
      if (lin.rotation.output && !lin.rotation.output_signs.empty())
        blobs.push_back(
            array_blob(base + ".output_signs", Kind::U32, lin.rotation.output_signs, 1, uint32_t(lin.rotation.output_signs.size())));
      if (lin.lora_rank) {
        blobs.push_back(array_blob(base + ".lora_a", Kind::U16, lin.lora_a, lin.lora_rank, cols));
        blobs.push_back(array_blob(base + ".lora_b", Kind::U16, lin.lora_b, rows, lin.lora_rank));
      }
      lj[linear_name(Linear(k))] = {{"input_rotation", lin.rotation.input},
                                    {"output_rotation", lin.rotation.output},
                                    {"lora_rank", lin.lora_rank},
                                    {"lora_scale", lin.lora_scale}};
    }
    layers.push_back(lj);
  }
  const nlohmann::json meta = {{"producer", "bitlens"},
                               {"config", config_json(m.config)},
                               {"layers", layers},
                               {"recipe", metadata.recipe},
                               {"calibration", metadata.calibration}};
  const std::string meta_text = meta.dump();

  Header h{};
  std::memcpy(h.magic, kMagic, 8);
  h.version = kContainerVersion;
  h.alignment = kAlignment;
  h.n_tensors = uint32_t(blobs.size());
  h.table_offset = kHeaderBytes;
  h.table_bytes = uint64_t(blobs.size()) * kEntryBytes;
  h.metadata_offset = h.table_offset + h.table_bytes;
  h.metadata_bytes = meta_text.size();
  uint64_t cursor = align_up(h.metadata_offset + h.metadata_bytes, kAlignment);
  std::vector<Entry> table;
  std::vector<uint64_t> pads;
  uint64_t end = h.metadata_offset + h.metadata_bytes;
  for (auto& b : blobs) {
    b.entry.offset = cursor;
    b.entry.bytes = b.data.size();
    b.entry.crc = crc32(b.data);
    table.push_back(b.entry);
    pads.push_back(cursor - end);
    end = cursor + b.data.size();
    cursor = align_up(end, kAlignment);
  }
  h.file_bytes = end;
  h.table_crc = crc32(as_bytes(table.data(), table.size() * kEntryBytes));
  h.metadata_crc = crc32(as_bytes(meta_text.data(), meta_text.size()));
  h.header_crc = crc32(as_bytes(&h, kHeaderBytes - 4));

  static const std::vector<uint8_t> zeros(kAlignment, 0);
  std::vector<std::span<const uint8_t>> parts = {as_bytes(&h, kHeaderBytes),
                                                 as_bytes(table.data(), table.size() * kEntryBytes),
                                                 as_bytes(meta_text.data(), meta_text.size())};
  for (size_t i = 0; i < blobs.size(); ++i) {
    parts.push_back({zeros.data(), size_t(pads[i])});
    parts.push_back(blobs[i].data);
  }
  write_file_atomic(path, parts, cancel);
}

bool is_container(const std::string& path) {
  try {
    MappedFile f(path);
    return f.size() >= 8 && std::memcmp(f.data(), kMagic, 8) == 0;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace bitlens::model
