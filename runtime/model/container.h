// The bitlens quantized-model container (.blq): a versioned, memory-mappable file holding a
// PackedModel — a fixed header with magic, version and CRCs, a table of tensors (each aligned, with
// its own CRC), and JSON metadata (configuration, per-layer rotation/LoRA settings, the recipe and
// the calibration summary). docs/CONTAINER.md specifies the format. Writes are atomic; every field
// is validated on load and a bad file gives one FileError naming the file and the problem.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/file_io.h"
#include "model/packed_model.h"

namespace bitlens::model {

inline constexpr uint32_t kContainerVersion = 1;

struct ContainerMetadata {
  nlohmann::json recipe = nlohmann::json::object();       // how each layer was quantized
  nlohmann::json calibration = nlohmann::json::object();  // what it was calibrated on
};

void write_container(const std::string& path, const PackedModel& model, const ContainerMetadata& metadata = {});

struct LoadedContainer {
  PackedModel model;
  ContainerMetadata metadata;
};
LoadedContainer read_container(const std::string& path);
LoadedContainer read_container(const MappedFile& file);  // parses bytes already mapped or in memory

// True if the file starts with the container's magic (for format detection).
bool is_container(const std::string& path);

}  // namespace bitlens::model
