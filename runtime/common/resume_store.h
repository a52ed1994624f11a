// Finished pieces of a long job kept on disk so that an interrupted run can resume: a folder
// (usually "<output>.partial") holding one checksummed file per finished piece (a quantized layer)
// and the job's key, a text that changes whenever the inputs or options change (model size and
// checksum, recipe, flags). A store opened with another key, or holding a damaged piece, starts
// over instead of mixing results of different jobs. Each piece is written atomically, so a run
// killed at any moment leaves only whole pieces.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace bitlens {

class ResumeStore {
 public:
  // Opens `dir` for the job `key`, creating it, or emptying it when it belongs to another job.
  ResumeStore(std::string dir, std::string key);

  const std::string& dir() const { return dir_; }
  // The pieces found from an earlier run of the same job (loadable and intact), in name order.
  const std::vector<std::string>& resumed() const { return resumed_; }

  bool has(const std::string& name) const;
  // The bytes saved under `name`; throws FileError if missing or damaged.
  std::vector<uint8_t> load(const std::string& name) const;
  // Saves a finished piece atomically. Names: letters, digits, '.', '_', '-' (e.g. "layers.3.wq").
  void save(const std::string& name, std::span<const uint8_t> bytes);
  // The job is done (its output written): removes the folder.
  void finish();

 private:
  std::string piece_path(const std::string& name) const;
  bool intact(const std::string& name) const;

  std::string dir_, key_;
  std::vector<std::string> resumed_;
};

}  // namespace bitlens
