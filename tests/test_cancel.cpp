// Interrupted work loses nothing: a cancelled atomic write leaves no temporary file, no partial
// output and the previous output untouched; SIGINT/SIGTERM become a cancellation request.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <thread>

#include "common/cancel.h"
#include "common/file_io.h"
#include "model_fixtures.h"

using namespace bitlens;

namespace {

// Names of the files in `dir`.
std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

bool has_temp_file(const std::string& dir) {
  for (const auto& name : files_in(dir))
    if (name.find(".tmp.") != std::string::npos) return true;
  return false;
}

}  // namespace

TEST(Cancel, CheckThrowsOnlyOnceRequested) {
  Cancellation c;
  EXPECT_NO_THROW(c.check("quantizing"));
  c.request();
  EXPECT_TRUE(c.requested());
  try {
    c.check("quantizing layer 3");
    FAIL();
  } catch (const CancelledError& e) {
    EXPECT_STREQ(e.what(), "cancelled while quantizing layer 3");
    EXPECT_EQ(e.signal, 0);
  }
  c.reset();
  EXPECT_NO_THROW(c.check("quantizing"));
}

TEST(Cancel, CancelledWriteLeavesNothingAndKeepsThePreviousFile) {
  const test::TempDir dir;
  const std::string fresh = dir.file("new.bin"), old = dir.file("old.bin");
  write_text_atomic(old, "previous contents");
  Cancellation cancel;
  cancel.request(SIGINT);
  const std::vector<uint8_t> bytes(1 << 20, 0xab);
  try {
    write_file_atomic(fresh, bytes, &cancel);
    FAIL();
  } catch (const CancelledError& e) {
    EXPECT_EQ(std::string(e.what()), "interrupted by SIGINT while writing " + fresh + ": nothing was written (" +
                                         fresh + " was not created)");
    EXPECT_EQ(e.signal, SIGINT);
  }
  try {
    write_file_atomic(old, bytes, &cancel);
    FAIL();
  } catch (const CancelledError& e) {
    EXPECT_NE(std::string(e.what()).find(old + " keeps its previous contents"), std::string::npos) << e.what();
  }
  EXPECT_EQ(files_in(dir.file("")), std::vector<std::string>{"old.bin"});
  EXPECT_EQ(read_text_file(old), "previous contents");
}

TEST(Cancel, CancelDuringTheWriteRemovesTheTemporaryFile) {
  // Another thread cancels as soon as the temporary file appears. The write may still win the
  // race and finish; each outcome is checked, and the test needs at least one mid-write cancel.
  const test::TempDir dir;
  const std::string path = dir.file("model.bin");
  write_text_atomic(path, "previous contents");
  const std::vector<uint8_t> bytes(size_t(96) << 20, 0x5a);
  int cancelled_mid_write = 0;
  for (int attempt = 0; attempt < 8 && cancelled_mid_write == 0; ++attempt) {
    Cancellation cancel;
    std::atomic<bool> done{false}, saw_temp{false};
    std::thread canceller([&] {
      while (!done && !has_temp_file(dir.file(""))) std::this_thread::yield();
      saw_temp = !done;
      cancel.request();
    });
    bool threw = false;
    try {
      write_file_atomic(path, bytes, &cancel);
    } catch (const CancelledError&) {
      threw = true;
    }
    done = true;
    canceller.join();
    EXPECT_FALSE(has_temp_file(dir.file("")));
    EXPECT_EQ(files_in(dir.file("")), std::vector<std::string>{"model.bin"});
    if (threw) {
      EXPECT_EQ(read_text_file(path), "previous contents");
      cancelled_mid_write += saw_temp;
    } else {
      EXPECT_EQ(read_file(path), bytes);
      write_text_atomic(path, "previous contents");
    }
  }
  EXPECT_GT(cancelled_mid_write, 0);
}

TEST(Cancel, SignalsRequestCancellationAndHandlersAreRestored) {
  struct sigaction before {};
  sigaction(SIGINT, nullptr, &before);
  {
    Cancellation cancel;
    const SignalCancellation on_signal(cancel);
    EXPECT_THROW(SignalCancellation again(cancel), Error);  // one at a time
    std::raise(SIGTERM);
    EXPECT_TRUE(cancel.requested());
    try {
      cancel.check("converting");
      FAIL();
    } catch (const CancelledError& e) {
      EXPECT_STREQ(e.what(), "interrupted by SIGTERM while converting");
      EXPECT_EQ(e.signal, SIGTERM);
    }
    // After the first signal, a second one would end the process (the default action).
    struct sigaction now {};
    sigaction(SIGTERM, nullptr, &now);
    EXPECT_EQ(now.sa_handler, SIG_DFL);
  }
  struct sigaction after {};
  sigaction(SIGINT, nullptr, &after);
  EXPECT_EQ(after.sa_handler, before.sa_handler);
}
