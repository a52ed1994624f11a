// CRC-32 (IEEE 802.3, the zlib polynomial) for the integrity checks of bitlens files.
#pragma once

#include <cstdint>
#include <span>

namespace bitlens {

uint32_t crc32(std::span<const uint8_t> bytes, uint32_t crc = 0);

}  // namespace bitlens
