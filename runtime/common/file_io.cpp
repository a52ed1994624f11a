// Memory maps, whole-file reads and atomic writes (see file_io.h).
#include "common/file_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "common/error.h"

namespace bitlens {

static std::string errno_text() { return std::strerror(errno); }

MappedFile::MappedFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw FileError(path, "cannot open: " + errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw FileError(path, "not a regular file");
  }
  size_ = size_t(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      throw FileError(path, "cannot map: " + errno_text());
    }
    data_ = static_cast<const uint8_t*>(p);
    mapped_ = true;
  }
  ::close(fd);
}

MappedFile MappedFile::from_memory(const std::string& name, std::span<const uint8_t> bytes) {
  MappedFile f;
  f.path_ = name;
  f.data_ = bytes.data();
  f.size_ = bytes.size();
  return f;
}

MappedFile::~MappedFile() {
  if (mapped_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

MappedFile::MappedFile(MappedFile&& o) noexcept
    : path_(std::move(o.path_)),
      data_(std::exchange(o.data_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      mapped_(std::exchange(o.mapped_, false)) {}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    if (mapped_) ::munmap(const_cast<uint8_t*>(data_), size_);
    path_ = std::move(o.path_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    mapped_ = std::exchange(o.mapped_, false);
  }
  return *this;
}

std::span<const uint8_t> MappedFile::range(uint64_t offset, uint64_t length, const std::string& what) const {
  if (offset > size_ || length > size_ - offset)
    throw FileError(path_, what + " lies outside the file (bytes " + std::to_string(offset) + ".." +
                               std::to_string(offset + length) + " of " + std::to_string(size_) +
                               "): the file is truncated or corrupted");
  return {data_ + offset, size_t(length)};
}

std::vector<uint8_t> read_file(const std::string& path) {
  MappedFile f(path);
  return {f.data(), f.data() + f.size()};
}

std::string read_text_file(const std::string& path) {
  MappedFile f(path);
  return {reinterpret_cast<const char*>(f.data()), f.size()};
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

void write_file_atomic(const std::string& path, std::span<const std::span<const uint8_t>> parts) {
  const std::filesystem::path target(path);
  if (target.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(target.parent_path(), ec);
  }
  std::string tmp = path + ".tmp.XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) throw FileError(path, "cannot create a temporary file beside it: " + errno_text());
  auto fail = [&](const std::string& what) {
    const std::string err = errno_text();
    ::close(fd);
    ::unlink(tmp.c_str());
    throw FileError(path, what + ": " + err);
  };
  for (auto part : parts) {
    size_t done = 0;
    while (done < part.size()) {
      const ssize_t n = ::write(fd, part.data() + done, part.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail("write failed");
      }
      done += size_t(n);
    }
  }
  if (::fchmod(fd, 0644) != 0) fail("chmod failed");
  if (::fsync(fd) != 0) fail("fsync failed");
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw FileError(path, "close failed: " + errno_text());
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string err = errno_text();
    ::unlink(tmp.c_str());
    throw FileError(path, "rename failed: " + err);
  }
  // Make the rename itself durable.
  const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomic(const std::string& path, std::span<const uint8_t> bytes) {
  const std::span<const uint8_t> parts[] = {bytes};
  write_file_atomic(path, parts);
}

void write_text_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

}  // namespace bitlens
