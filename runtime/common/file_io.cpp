// Memory maps, whole-file reads and atomic writes (see file_io.h).
#include "common/file_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "common/cancel.h"
#include "common/error.h"

namespace bitlens {

static std::string errno_text() { return std::strerror(errno); }

MappedFile::MappedFile(const std::string& path) : path_(path) {
  // O_NONBLOCK: opening a FIFO or a device must not wait for a writer; such files are refused below.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
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

namespace {

// Throws CancelledError naming `path` (after removing `tmp`) if `cancel` was requested.
void check_cancel(const Cancellation* cancel, const std::string& path, const std::string& tmp) {
  if (!cancel || !cancel->requested()) return;
  ::unlink(tmp.c_str());
  try {
    cancel->check("writing " + path);
  } catch (const CancelledError& e) {
    throw CancelledError(std::string(e.what()) + ": nothing was written (" + path +
                             (file_exists(path) ? " keeps its previous contents)" : " was not created)"),
                         e.signal);
  }
}

}  // namespace

void write_file_atomic(const std::string& path, std::span<const std::span<const uint8_t>> parts,
                       const Cancellation* cancel) {
  constexpr size_t kChunk = size_t(4) << 20;  // bytes written between two checks of `cancel`
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
  auto cancelled = [&] {
    if (!cancel || !cancel->requested()) return;
    ::close(fd);
    check_cancel(cancel, path, tmp);
  };
  for (auto part : parts) {
    size_t done = 0;
    while (done < part.size()) {
      cancelled();
      const ssize_t n = ::write(fd, part.data() + done, std::min(part.size() - done, kChunk));
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
  check_cancel(cancel, path, tmp);
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

void write_file_atomic(const std::string& path, std::span<const uint8_t> bytes, const Cancellation* cancel) {
  const std::span<const uint8_t> parts[] = {bytes};
  write_file_atomic(path, parts, cancel);
}

void write_text_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

}  // namespace bitlens
