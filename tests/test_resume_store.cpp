// Resuming interrupted work: finished pieces survive a cancelled run and are reused by the next run
// of the same job; another job's, damaged or half-written pieces are never reused.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/cancel.h"
#include "common/resume_store.h"
#include "model_fixtures.h"

using namespace bitlens;

namespace {

std::vector<uint8_t> piece_bytes(int i) { return std::vector<uint8_t>(100 + i * 37, uint8_t(i * 11 + 1)); }

// A job of `n` pieces that saves each finished piece and stops when `cancel` is requested; returns
// the pieces it computed (not resumed).
int run_job(ResumeStore& store, int n, Cancellation& cancel, int cancel_after = -1) {
  int computed = 0;
  for (int i = 0; i < n; ++i) {
    const std::string name = "layers." + std::to_string(i) + ".wq";
    if (store.has(name)) {
      EXPECT_EQ(store.load(name), piece_bytes(i));
      continue;
    }
    cancel.check("quantizing " + name);
    store.save(name, piece_bytes(i));
    ++computed;
    if (computed == cancel_after) cancel.request();
  }
  return computed;
}

}  // namespace

TEST(ResumeStore, AnInterruptedJobResumesFromItsFinishedPieces) {
  const test::TempDir dir;
  const std::string folder = dir.file("model.blq.partial");
  Cancellation cancel;
  {
    ResumeStore store(folder, "stories15M 60816028 crc 1234; recipe 2.5 bpw");
    EXPECT_TRUE(store.resumed().empty());
    EXPECT_THROW(run_job(store, 6, cancel, 3), CancelledError);
  }
  cancel.reset();
  ResumeStore again(folder, "stories15M 60816028 crc 1234; recipe 2.5 bpw");
  EXPECT_EQ(again.resumed(), (std::vector<std::string>{"layers.0.wq", "layers.1.wq", "layers.2.wq"}));
  EXPECT_EQ(run_job(again, 6, cancel), 3);  // only the three unfinished pieces are computed
  again.finish();
  EXPECT_FALSE(std::filesystem::exists(folder));
}

TEST(ResumeStore, AnotherJobStartsOver) {
  const test::TempDir dir;
  const std::string folder = dir.file("out.partial");
  Cancellation cancel;
  {
    ResumeStore store(folder, "job A");
    run_job(store, 2, cancel);
  }
  ResumeStore other(folder, "job B");
  EXPECT_TRUE(other.resumed().empty());
  EXPECT_FALSE(other.has("layers.0.wq"));
  EXPECT_EQ(read_text_file(folder + "/job"), "job B");
}

TEST(ResumeStore, DamagedAndHalfWrittenPiecesAreDropped) {
  const test::TempDir dir;
  const std::string folder = dir.file("out.partial");
  Cancellation cancel;
  {
    ResumeStore store(folder, "job");
    run_job(store, 4, cancel);
  }
  auto bytes = test::read_bytes(folder + "/layers.1.wq.piece");
  bytes[20] ^= 1;
  test::write_bytes(folder + "/layers.1.wq.piece", bytes);
  bytes = test::read_bytes(folder + "/layers.2.wq.piece");
  bytes.resize(bytes.size() - 5);
  test::write_bytes(folder + "/layers.2.wq.piece", bytes);
  write_text_atomic(folder + "/layers.3.wq.piece.tmp.AbC123", "half a piece");
  ResumeStore store(folder, "job");
  EXPECT_EQ(store.resumed(), (std::vector<std::string>{"layers.0.wq", "layers.3.wq"}));
  EXPECT_FALSE(store.has("layers.1.wq"));
  EXPECT_FALSE(std::filesystem::exists(folder + "/layers.3.wq.piece.tmp.AbC123"));
  EXPECT_EQ(run_job(store, 4, cancel), 2);
}

TEST(ResumeStore, RefusesForeignFoldersAndBadNames) {
  const test::TempDir dir;
  const std::string folder = dir.file("my_documents");
  std::filesystem::create_directories(folder);
  write_text_atomic(folder + "/thesis.txt", "years of work");
  test::expect_file_error([&] { ResumeStore store(folder, "job"); }, folder, "is not a bitlens resume folder");
  EXPECT_EQ(read_text_file(folder + "/thesis.txt"), "years of work");
  ResumeStore store(dir.file("ok.partial"), "job");
  for (const char* bad : {"", "../escape", "a/b", ".hidden"}) EXPECT_THROW(store.save(bad, piece_bytes(0)), Error);
}
