// The `bitlens` executable under faults, run as a child process: each device fault, bad setting and
// hostile file ends in one "bitlens: ..." line and a non-zero exit status, and Ctrl-C, a full disk or
// an unwritable folder during `convert` leaves no partial output.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>

#include <sys/resource.h>
#include <sys/stat.h>

#include "cli_process.h"
#include "gpu_test.h"
#include "model/gguf.h"
#include "model/gguf_model.h"
#include "model_fixtures.h"

using namespace bitlens;

namespace {

// Expects exit status `status` and, as the only line from bitlens on stderr, its last line,
// "bitlens: " + something containing every one of `parts`. (The Vulkan loader may print its own
// diagnostics before it.)
void expect_failure(const test::CliResult& r, int status, std::initializer_list<std::string> parts) {
  EXPECT_EQ(r.status, status) << r.err;
  const auto lines = test::lines_of(r.err);
  ASSERT_FALSE(lines.empty());
  const std::string& last = lines.back();
  EXPECT_EQ(last.rfind("bitlens: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(), [](const std::string& l) { return l.rfind("bitlens", 0) == 0; }),
            1)
      << r.err;
  for (const auto& p : parts) EXPECT_NE(last.find(p), std::string::npos) << "'" << p << "' not in: " << last;
}

class CliDeviceFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::missing_device()) return;
  }
};

}  // namespace

TEST_F(CliDeviceFaults, DevicesListsAndChecks) {
  test::CliResult r = test::run_bitlens({"devices"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("0: ", 0), 0u) << r.out;
  r = test::run_bitlens({"devices", "--check", "--check-bytes", "3MiB"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("check: filled and read back 3.00 MiB: ok"), std::string::npos) << r.out;
}

TEST_F(CliDeviceFaults, MissingDriver) {
  const test::EnvChanges env = {{"VK_DRIVER_FILES", "/nonexistent/icd.json"}, {"VK_ICD_FILENAMES", std::nullopt}};
  for (const auto& args : {std::vector<std::string>{"devices"}, std::vector<std::string>{"devices", "--check"}})
    expect_failure(test::run_bitlens(args, env), 1,
                   {"no Vulkan driver found (the loader was limited to VK_DRIVER_FILES=/nonexistent/icd.json): "
                    "install a Vulkan driver"});
}

TEST_F(CliDeviceFaults, NoMatchingDevice) {
  const test::CliResult r = test::run_bitlens({"devices", "--check"}, {{"BITLENS_DEVICE", "no-such-gpu"}});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("bitlens: no Vulkan device matches 'no-such-gpu' (BITLENS_DEVICE or --device); devices:\n  0: ",
                        0),
            0u)
      << r.err;
}

TEST_F(CliDeviceFaults, ModelThatDoesNotFitTheMemoryLimit) {
  expect_failure(test::run_bitlens({"devices", "--check", "--check-bytes", "4MiB"},
                                   {{"BITLENS_DEVICE_MEMORY_LIMIT", "1MiB"}}),
                 1,
                 {"out of device memory: the device check's buffer of 4.00 MiB does not fit in the device-memory "
                  "limit of 1.00 MiB (BITLENS_DEVICE_MEMORY_LIMIT)"});
  expect_failure(test::run_bitlens({"devices", "--check"}, {{"BITLENS_DEVICE_MEMORY_LIMIT", "a lot"}}), 1,
                 {"BITLENS_DEVICE_MEMORY_LIMIT=a lot is not a byte count"});
}

TEST_F(CliDeviceFaults, DriverOutOfMemory) {
  expect_failure(test::run_bitlens({"devices", "--check"}, {{"BITLENS_FAULT", "out_of_device_memory"}}), 1,
                 {"out of device memory: ", "could not allocate the device check's buffer of 64.0 MiB",
                  "VK_ERROR_OUT_OF_DEVICE_MEMORY"});
}

TEST_F(CliDeviceFaults, DeviceLost) {
  expect_failure(test::run_bitlens({"devices", "--check"}, {{"BITLENS_FAULT", "device_lost"}}), 1,
                 {"the Vulkan device was lost", "VK_ERROR_DEVICE_LOST", "cannot continue"});
  expect_failure(test::run_bitlens({"devices", "--check"}, {{"BITLENS_FAULT", "meteor_strike"}}), 1,
                 {"BITLENS_FAULT=meteor_strike: unknown fault"});
}

TEST_F(CliDeviceFaults, RunOnTheGpuUnderFaults) {
  const std::vector<std::string> run = {"run", test::stories15m_path(), "--backend", "vulkan", "-n", "8"};
  // Device lost after a few submissions: the model is uploaded, generation fails.
  expect_failure(test::run_bitlens(run, {{"BITLENS_FAULT", "device_lost:3"}}), 1,
                 {"the Vulkan device was lost", "injected by BITLENS_FAULT=device_lost:3", "cannot continue"});
  // The driver refuses an allocation part-way through uploading the model.
  expect_failure(test::run_bitlens(run, {{"BITLENS_FAULT", "out_of_device_memory:4"}}), 1,
                 {"out of device memory: ", "VK_ERROR_OUT_OF_DEVICE_MEMORY, injected by BITLENS_FAULT=out_of_device_memory:4"});
  // A budget smaller than the model's 58 MiB of fp32 weights.
  expect_failure(test::run_bitlens(run, {{"BITLENS_DEVICE_MEMORY_LIMIT", "16MiB"}}), 1,
                 {"out of device memory: ", "does not fit in the device-memory limit of 16.0 MiB (BITLENS_DEVICE_MEMORY_LIMIT)"});
}

TEST(CliHostileFiles, EachGivesOneLineNamingTheFile) {
  const test::TempDir dir;
  std::filesystem::create_directories(dir.file("a_directory"));
  test::write_bytes(dir.file("empty.bin"), {});
  std::vector<uint8_t> head = test::read_bytes(test::stories15m_path());
  head.resize(1 << 20);
  test::write_bytes(dir.file("truncated.bin"), head);
  std::vector<uint8_t> gguf(64, 0);
  test::poke<uint32_t>(gguf, 0, model::kGgufMagic);
  test::poke<uint32_t>(gguf, 4, 3);
  test::poke<uint64_t>(gguf, 16, uint64_t(1) << 60);  // 2^60 metadata entries in 64 bytes
  test::write_bytes(dir.file("huge_count.gguf"), gguf);
  ASSERT_EQ(::mkfifo(dir.file("a_fifo").c_str(), 0600), 0);
  const struct {
    std::string file, problem;
  } cases[] = {
      {dir.file("a_directory"), "not a regular file"},
      {dir.file("a_fifo"), "not a regular file"},
      {"/dev/zero", "not a regular file"},
      {dir.file("empty.bin"), "too small to be a llama2.c checkpoint"},
      {dir.file("truncated.bin"), "file is 1048576 bytes but its header"},
      {dir.file("huge_count.gguf"), "metadata count 1152921504606846976 cannot fit"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    const test::CliResult r = test::run_bitlens({"run", c.file, "-n", "1"});
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(test::lines_of(r.err).size(), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("bitlens: " + c.file + ": ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(c.problem), std::string::npos) << r.err;
  }
}

TEST(CliInterrupt, CtrlCDuringConvertLeavesNoPartialOutput) {
  // SIGINT is sent as soon as the output's temporary file appears. A run may still finish before
  // the signal lands; every outcome is checked, and at least one run must be interrupted.
  const test::TempDir dir;
  const std::string out = dir.file("stories15M.gguf");
  int interrupted = 0;
  for (int attempt = 0; attempt < 6 && interrupted == 0; ++attempt) {
    std::filesystem::remove(out);
    write_text_atomic(out, "previous contents");
    test::CliProcess p({"convert", test::stories15m_path(), "-o", out});
    const bool signalled =
        p.wait_in_folder(dir.file(""), [&] { return test::has_entry(dir.file(""), ".tmp."); }, std::chrono::seconds(120));
    if (signalled) p.send(SIGINT);
    const test::CliResult r = p.wait();
    std::vector<std::string> left;
    for (const auto& e : std::filesystem::directory_iterator(dir.file(""))) left.push_back(e.path().filename().string());
    EXPECT_EQ(left, std::vector<std::string>{"stories15M.gguf"}) << "attempt " << attempt;
    if (r.status == 130) {
      ++interrupted;
      EXPECT_TRUE(signalled);
      EXPECT_EQ(r.err, "bitlens: interrupted by SIGINT while writing " + out + ": nothing was written (" + out +
                           " keeps its previous contents)\n");
      EXPECT_EQ(read_text_file(out), "previous contents");
    } else {
      ASSERT_EQ(r.status, 0) << r.err;  // finished before the signal: the whole file
      const model::Model m = model::load_gguf_model(out);
      EXPECT_EQ(m.config.dim, 288u);
    }
  }
  EXPECT_GT(interrupted, 0);
}

TEST(CliInterrupt, UnwritableOutputIsOneLineAndLeavesNothing) {
  const test::TempDir dir;
  const std::string blocked = dir.file("file_not_dir");
  write_text_atomic(blocked, "x");
  const std::string out = blocked + "/model.gguf";
  const test::CliResult r = test::run_bitlens({"convert", test::stories15m_path(), "-o", out});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("bitlens: " + out + ": cannot create a temporary file beside it", 0), 0u) << r.err;
  EXPECT_EQ(test::lines_of(r.err).size(), 1u);
}

TEST(CliInterrupt, DiskFullIsOneLineAndKeepsThePreviousOutput) {
  // A 1 MiB file-size limit (ulimit -f) makes the write fail (EFBIG) on the same path as a full disk
  // (ENOSPC): the error names the output, the temporary file goes, the previous output stays.
  const test::TempDir dir;
  const std::string out = dir.file("stories15M.gguf");
  write_text_atomic(out, "previous contents");
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  const rlimit small{rlim_t(1) << 20, old.rlim_max};
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  test::CliProcess p({"convert", test::stories15m_path(), "-o", out});
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
  const test::CliResult r = p.wait();
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "bitlens: " + out + ": write failed: File too large\n");
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(dir.file(""))) left.push_back(e.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"stories15M.gguf"});
  EXPECT_EQ(read_text_file(out), "previous contents");
}

TEST(CliInterrupt, CtrlCDuringEvalIsOneLineAndWritesNoReport) {
  const test::TempDir dir;
  const std::string report = dir.file("report.json");
  // The signal goes once eval has printed the line that precedes its first window (its stdout is a
  // terminal, so the line comes as printed); 300 windows take far longer than the signal takes to land.
  test::CliProcess p({"eval", test::stories15m_path(), "--moby-dick", "--data", test::data_path(""), "--windows", "300",
                      "--json", report},
                     {}, test::ChildStdout::Terminal);
  if (!p.wait_for_output(" windows of ", std::chrono::seconds(120))) {
    p.send(SIGKILL);
    FAIL() << "eval never reached its first window: " << p.wait().err;
  }
  p.send(SIGINT);
  const test::CliResult r = p.wait();
  EXPECT_EQ(r.status, 130) << r.err;
  EXPECT_EQ(r.err, "bitlens: interrupted by SIGINT while evaluating\n");
  EXPECT_EQ(r.out.rfind("text: Moby Dick chapters 1-20, ", 0), 0u) << r.out;
  EXPECT_FALSE(std::filesystem::exists(report));
}
