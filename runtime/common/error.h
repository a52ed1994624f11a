// Error type of the whole library: one message that names the file, call or value at fault.
#pragma once

#include <stdexcept>
#include <string>

namespace bitlens {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Raised when an input file is malformed; the message starts with the file's path.
struct FileError : Error {
  FileError(const std::string& path, const std::string& problem) : Error(path + ": " + problem) {}
};

// Raised when a shape, bit width or group size is outside what a kernel or format supports.
struct UnsupportedError : Error {
  using Error::Error;
};

#define BITLENS_REQUIRE(cond, msg)                                    \
  do {                                                                \
    if (!(cond)) throw ::bitlens::Error(std::string(msg));            \
  } while (0)

}  // namespace bitlens
