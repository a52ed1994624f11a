// One PackedLinear as a self-contained byte string and back: the unit that an interrupted
// `bitlens quantize` keeps on disk (common/resume_store.h) so that a rerun continues where it
// stopped. Not an interchange format (the .blq container is); every size is checked on reading.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "model/packed_model.h"

namespace bitlens::model {

std::vector<uint8_t> linear_to_bytes(const quant::PackedLinear& linear);
// Throws FileError(`source`, ...) when the bytes are not a whole, valid PackedLinear.
quant::PackedLinear linear_from_bytes(std::span<const uint8_t> bytes, const std::string& source);

}  // namespace bitlens::model
