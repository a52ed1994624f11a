// The on-disk store of finished pieces (see resume_store.h). Layout of <dir>: "job" holds the key;
// "<name>.piece" holds a piece as [u64 byte count][u32 CRC-32][bytes].
#include "common/resume_store.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "common/crc32.h"
#include "common/error.h"
#include "common/file_io.h"

namespace bitlens {

namespace {

constexpr const char* kPieceSuffix = ".piece";
constexpr size_t kPieceHeader = 12;

bool valid_name(const std::string& name) {
  return !name.empty() && name.size() <= 200 && name[0] != '.' &&
         std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(uint8_t(c)) || c == '.' || c == '_' || c == '-'; });
}

}  // namespace

ResumeStore::ResumeStore(std::string dir, std::string key) : dir_(std::move(dir)), key_(std::move(key)) {
  namespace fs = std::filesystem;
  const std::string key_path = dir_ + "/job";
  std::error_code ec;
  if (fs::exists(dir_, ec) && !fs::is_directory(dir_, ec))
    throw FileError(dir_, "exists and is not a folder; remove it or choose another output");
  if (fs::exists(dir_, ec) && !(fs::is_regular_file(key_path, ec) && read_text_file(key_path) == key_)) {
    // Another job's folder (or one without a key): start over, but only if it looks like ours.
    for (const auto& e : fs::directory_iterator(dir_)) {
      const std::string name = e.path().filename().string();
      if (name != "job" && !name.ends_with(kPieceSuffix) && name.find(".tmp.") == std::string::npos)
        throw FileError(dir_, "exists and is not a bitlens resume folder (it holds " + name + "); remove it or choose another output");
    }
    fs::remove_all(dir_, ec);
    if (ec) throw FileError(dir_, "cannot remove the stale resume folder: " + ec.message());
  }
  fs::create_directories(dir_, ec);
  if (ec) throw FileError(dir_, "cannot create the resume folder: " + ec.message());
  if (!fs::exists(key_path)) write_text_atomic(key_path, key_);
  for (const auto& e : fs::directory_iterator(dir_)) {
    const std::string file = e.path().filename().string();
    if (file.find(".tmp.") != std::string::npos) {
      fs::remove(e.path(), ec);  // a piece whose write was cut short
      continue;
    }
    if (!file.ends_with(kPieceSuffix)) continue;
    const std::string name = file.substr(0, file.size() - std::strlen(kPieceSuffix));
    if (intact(name))
      resumed_.push_back(name);
    else
      fs::remove(e.path(), ec);
  }
  std::sort(resumed_.begin(), resumed_.end());
}

std::string ResumeStore::piece_path(const std::string& name) const {
  if (!valid_name(name)) throw Error("resume store: invalid piece name '" + name + "'");
  return dir_ + "/" + name + kPieceSuffix;
}

bool ResumeStore::intact(const std::string& name) const {
  if (!valid_name(name)) return false;
  try {
    load(name);
    return true;
  } catch (const Error&) {
    return false;
  }
}

bool ResumeStore::has(const std::string& name) const {
  return std::binary_search(resumed_.begin(), resumed_.end(), name) || file_exists(piece_path(name));
}

std::vector<uint8_t> ResumeStore::load(const std::string& name) const {
  const std::string path = piece_path(name);
  const MappedFile f(path);
  const auto header = f.range(0, kPieceHeader, "piece header");
  uint64_t bytes;
  uint32_t crc;
  std::memcpy(&bytes, header.data(), 8);
  std::memcpy(&crc, header.data() + 8, 4);
  if (bytes != f.size() - kPieceHeader) throw FileError(path, "piece size does not match the file: damaged");
  const auto body = f.range(kPieceHeader, bytes, "piece");
  if (crc32(body) != crc) throw FileError(path, "piece checksum mismatch: damaged");
  return {body.begin(), body.end()};
}

void ResumeStore::save(const std::string& name, std::span<const uint8_t> bytes) {
  uint8_t header[kPieceHeader];
  const uint64_t n = bytes.size();
  const uint32_t crc = crc32(bytes);
  std::memcpy(header, &n, 8);
  std::memcpy(header + 8, &crc, 4);
  const std::span<const uint8_t> parts[] = {header, bytes};
  write_file_atomic(piece_path(name), parts);
}

void ResumeStore::finish() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  resumed_.clear();
}

}  // namespace bitlens
