// Kept steps of `bitlens quantize` (see quantize_checkpoint.h): pieces "text.<name>" (UTF-8 text),
// "measure.<layer>" (JSON of the candidates' specs, bits and errors) and "linear.<layer>"
// (model/linear_bytes.h).
#include "cli/quantize_checkpoint.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "common/crc32.h"
#include "common/error.h"
#include "common/file_io.h"
#include "common/json_input.h"
#include "model/linear_bytes.h"

namespace bitlens::cli {

namespace {

using nlohmann::json;

std::vector<uint8_t> text_bytes(const std::string& s) { return {s.begin(), s.end()}; }

std::vector<uint8_t> measurement_bytes(const pipeline::LayerMeasurement& m) {
  json specs = json::array();
  for (size_t i = 0; i < m.specs.size(); ++i) {
    const pipeline::LinearSpec& s = m.specs[i];
    specs.push_back({{"method", pipeline::method_name(s.method)}, {"bits", s.bits}, {"group_size", s.group_size},
                     {"rotation", quant::rotation_mode_name(s.rotation)}, {"salient_fraction", s.salient_fraction},
                     {"stored_bits", m.bits[i]}, {"error", m.errors[i]}});
  }
  return text_bytes(json{{"name", m.name}, {"weights", m.weights}, {"candidates", specs}}.dump());
}

pipeline::LayerMeasurement measurement_from(const std::vector<uint8_t>& bytes, const std::string& source) {
  try {
    const json j = parse_json_input({reinterpret_cast<const char*>(bytes.data()), bytes.size()}, source, "layer measurement");
    pipeline::LayerMeasurement m;
    m.name = j.at("name").get<std::string>();
    m.weights = j.at("weights").get<uint64_t>();
    for (const json& c : j.at("candidates")) {
      m.specs.push_back({pipeline::parse_method(c.at("method").get<std::string>()), c.at("bits").get<uint32_t>(),
                         c.at("group_size").get<uint32_t>(), quant::parse_rotation_mode(c.at("rotation").get<std::string>()),
                         c.at("salient_fraction").get<double>()});
      m.bits.push_back(c.at("stored_bits").get<uint64_t>());
      m.errors.push_back(c.at("error").get<double>());
    }
    return m;
  } catch (const json::exception& e) {
    throw FileError(source, std::string("layer measurement: ") + e.what());
  }
}

}  // namespace

std::string file_fingerprint(const std::string& path) {
  const MappedFile f(path);
  char crc[16];
  std::snprintf(crc, sizeof(crc), "%08x", crc32({f.data(), f.size()}));
  return std::to_string(f.size()) + " bytes, CRC-32 " + crc;
}

QuantizeCheckpoint::QuantizeCheckpoint(const std::string& output, const std::string& job, Cancellation& cancel)
    : cancel_(cancel) {
  if (output.empty()) return;
  store_.emplace(output + ".partial", job);
  if (!store_->resumed().empty())
    std::cout << "resuming from " << store_->dir() << ": " << store_->resumed().size() << " finished steps kept\n";
}

template <class T>
T QuantizeCheckpoint::step(const std::string& piece, const std::string& doing, const std::function<T()>& make,
                           const std::function<std::vector<uint8_t>(const T&)>& to_bytes,
                           const std::function<T(const std::vector<uint8_t>&, const std::string&)>& from_bytes) {
  if (store_ && store_->has(piece)) {
    try {
      return from_bytes(store_->load(piece), store_->dir() + "/" + piece);
    } catch (const Error&) {
      // A piece that does not read back is redone.
    }
  }
  cancel_.check(doing);
  T value = make();
  if (store_) store_->save(piece, to_bytes(value));
  return value;
}

std::string QuantizeCheckpoint::text(const std::string& name, const std::function<std::string()>& make) {
  return step<std::string>("text." + name, "making the " + name + " text", make, text_bytes,
                           [](const std::vector<uint8_t>& b, const std::string&) { return std::string(b.begin(), b.end()); });
}

pipeline::LayerMeasurement QuantizeCheckpoint::measurement(const std::string& name,
                                                        const std::function<pipeline::LayerMeasurement()>& measure) {
  return step<pipeline::LayerMeasurement>("measure." + name, "measuring " + name, measure, measurement_bytes,
                                       measurement_from);
}

quant::PackedLinear QuantizeCheckpoint::linear(const std::string& name,
                                               const std::function<quant::PackedLinear()>& quantize) {
  return step<quant::PackedLinear>("linear." + name, "quantizing " + name, quantize, model::linear_to_bytes,
                                   [](const std::vector<uint8_t>& b, const std::string& source) {
                                     return model::linear_from_bytes(b, source);
                                   });
}

void QuantizeCheckpoint::finish() {
  if (store_) store_->finish();
}

CancelledError QuantizeCheckpoint::interrupted(const CancelledError& e) const {
  if (!store_) return e;
  return CancelledError(std::string(e.what()) + " (finished steps are kept in " + store_->dir() +
                            "; run the same command again to resume)",
                        e.signal);
}

}  // namespace bitlens::cli
