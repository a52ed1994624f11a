// Byte-count parsing and formatting (see byte_size.h).
#include "common/byte_size.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "common/error.h"

namespace bitlens {

namespace {

// Multiplier of a unit suffix (case-insensitive, spaces already removed); 0 if unknown.
uint64_t unit_multiplier(std::string unit) {
  for (char& ch : unit) ch = char(std::tolower(uint8_t(ch)));
  if (unit.empty() || unit == "b") return 1;
  static const char* prefixes = "kmgt";
  for (int i = 0; i < 4; ++i) {
    const std::string p(1, prefixes[i]);
    if (unit == p || unit == p + "b" || unit == p + "ib") return uint64_t(1) << (10 * (i + 1));
  }
  return 0;
}

}  // namespace

uint64_t parse_byte_size(std::string_view text, const std::string& what) {
  auto bad = [&](const std::string& why) -> uint64_t {
    throw Error(what + "=" + std::string(text) + " is not a byte count (" + why + "; e.g. 268435456, 256MiB, 2GiB)");
  };
  std::string s;
  for (char ch : text)
    if (!std::isspace(uint8_t(ch))) s += ch;
  size_t digits = 0;
  while (digits < s.size() && (std::isdigit(uint8_t(s[digits])) || s[digits] == '.')) ++digits;
  if (digits == 0) return bad("no number");
  const std::string number = s.substr(0, digits);
  char* end = nullptr;
  const double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(value)) return bad("malformed number");
  const uint64_t unit = unit_multiplier(s.substr(digits));
  if (unit == 0) return bad("unknown unit \"" + s.substr(digits) + "\"");
  const double bytes = std::floor(value * double(unit));
  if (bytes >= 18446744073709551616.0) return bad("too large");
  return uint64_t(bytes);
}

std::string format_bytes(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
  static const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = double(bytes) / 1024.0;
  int u = 0;
  while (v >= 1024.0 && u < 5) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), v < 10.0 ? "%.2f %s" : "%.1f %s", v, units[u]);
  return buf;
}

}  // namespace bitlens
