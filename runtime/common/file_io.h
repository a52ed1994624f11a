// File access for the whole project: read-only memory maps with bounds-checked views, whole-file
// reads, and atomic writes (temp file + fsync + rename) so that an interrupted write loses nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace bitlens {

class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path);  // throws FileError if missing or unreadable
  // Wraps bytes already in memory (not copied, not owned), named `name` in error messages; lets
  // parsers run on buffers (fuzzing, tests) exactly as on files.
  static MappedFile from_memory(const std::string& name, std::span<const uint8_t> bytes);
  ~MappedFile();
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  size_t size() const { return size_; }
  const uint8_t* data() const { return data_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  // The range [offset, offset + length); throws FileError naming `what` if it lies outside the file.
  std::span<const uint8_t> range(uint64_t offset, uint64_t length, const std::string& what) const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;  // data_ is our mmap (unmapped on destruction)
};

std::vector<uint8_t> read_file(const std::string& path);
std::string read_text_file(const std::string& path);

// Writes `parts` one after another to `path` atomically: a temp file beside it, fsync, rename.
void write_file_atomic(const std::string& path, std::span<const std::span<const uint8_t>> parts);
void write_file_atomic(const std::string& path, std::span<const uint8_t> bytes);
void write_text_atomic(const std::string& path, const std::string& text);

bool file_exists(const std::string& path);

}  // namespace bitlens
