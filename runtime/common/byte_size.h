// Byte counts as people write and read them: "512", "64MiB", "1.5 GiB" in settings (environment
// variables, flags) and "12.0 MiB" in messages.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bitlens {

// Parses a byte count: a number with an optional unit B, K/KiB, M/MiB, G/GiB, T/TiB (powers of
// 1024; KB, MB, GB, TB are taken as the same). Throws Error naming `what` if it is not one.
uint64_t parse_byte_size(std::string_view text, const std::string& what);

// "812 bytes", "12.0 MiB", "1.50 GiB".
std::string format_bytes(uint64_t bytes);

}  // namespace bitlens
