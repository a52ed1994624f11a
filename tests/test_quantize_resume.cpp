// Ctrl-C during `bitlens quantize` on the real model: the run stops with status 130 and one line
// saying where its finished steps are kept, writes no output, and the same command run again
// resumes from the kept steps and writes exactly the file an uninterrupted run writes.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>

#include "cli_process.h"
#include "model_fixtures.h"

using namespace bitlens;

namespace {

namespace fs = std::filesystem;

size_t pieces_in(const std::string& dir, const std::string& prefix) {
  size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    n += name.rfind(prefix, 0) == 0 && name.ends_with(".piece");
  }
  return n;
}

std::vector<std::string> quantize_args(const std::string& out, const std::vector<std::string>& options) {
  std::vector<std::string> args = {"quantize", test::stories15m_path(), "--calib-tokens", "256", "-o", out};
  args.insert(args.end(), options.begin(), options.end());
  return args;
}

// Runs quantize, sends SIGINT once `min_pieces` pieces starting with `prefix` are kept, and checks
// the interruption; returns false if the run finished before the signal landed.
bool interrupt_after(const std::string& out, const std::vector<std::string>& options, const std::string& prefix,
                     size_t min_pieces) {
  test::CliProcess p(quantize_args(out, options));
  const std::string partial = out + ".partial";
  const auto timeout = std::chrono::minutes(10);
  if (p.wait_in_folder(fs::path(out).parent_path().string(), [&] { return fs::exists(partial); }, timeout) &&
      p.wait_in_folder(partial, [&] { return pieces_in(partial, prefix) >= min_pieces; }, timeout))
    p.send(SIGINT);
  const test::CliResult r = p.wait();
  if (r.status == 0) return false;
  EXPECT_EQ(r.status, 130) << r.err;
  const auto lines = test::lines_of(r.err);
  EXPECT_EQ(lines.size(), 1u) << r.err;
  EXPECT_EQ(r.err.rfind("bitlens: interrupted by SIGINT while ", 0), 0u) << r.err;
  EXPECT_TRUE(r.err.ends_with(" (finished steps are kept in " + out + ".partial; run the same command again to resume)\n"))
      << r.err;
  EXPECT_FALSE(fs::exists(out)) << "an interrupted run wrote its output";
  for (const auto& e : fs::directory_iterator(fs::path(out).parent_path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  EXPECT_GE(pieces_in(out + ".partial", prefix), min_pieces);
  return true;
}

// Interrupts the run once, resumes it, and compares with an uninterrupted run.
void check_interrupt_and_resume(const std::vector<std::string>& options, const std::string& prefix, size_t min_pieces) {
  const test::TempDir dir;
  const std::string whole = dir.file("whole.blq"), resumed = dir.file("resumed.blq");
  const test::CliResult ref = test::run_bitlens(quantize_args(whole, options));
  ASSERT_EQ(ref.status, 0) << ref.err;
  EXPECT_FALSE(fs::exists(whole + ".partial"));
  ASSERT_TRUE(interrupt_after(resumed, options, prefix, min_pieces)) << "the run ended before SIGINT";
  const size_t kept = pieces_in(resumed + ".partial", "");
  const test::CliResult r = test::run_bitlens(quantize_args(resumed, options));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("resuming from " + resumed + ".partial: " + std::to_string(kept) + " finished steps kept"),
            std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(resumed + ".partial"));
  EXPECT_EQ(test::read_bytes(resumed), test::read_bytes(whole)) << "the resumed run wrote another file";
}

}  // namespace

TEST(QuantizeResume, CtrlCWhileQuantizingLayersThenResume) {
  check_interrupt_and_resume({"--method", "gptq", "--bits", "2", "--group", "64"}, "linear.", 4);
}

TEST(QuantizeResume, CtrlCWhileMeasuringCandidatesThenResume) {
  // Ternary and f16 candidates only: measuring every default candidate takes minutes.
  check_interrupt_and_resume({"--target-bpw", "4", "--candidates", "ternary"}, "measure.", 3);
}

// ApiQ trains block after block with no per-layer steps to keep: Ctrl-C during training stops it
// at the next step with the same one line and no output, and a run with other options starts over.
TEST(QuantizeResume, CtrlCWhileTrainingApiqStopsWithNoOutput) {
  const test::TempDir dir;
  const std::string out = dir.file("apiq.blq");
  const std::vector<std::string> options = {"--method", "apiq", "--bits", "2", "--epochs", "1000"};
  ASSERT_TRUE(interrupt_after(out, options, "text.", 1)) << "the run ended before SIGINT";
  const test::CliResult r = test::run_bitlens(quantize_args(out, {"--method", "apiq", "--bits", "2", "--epochs", "0"}));
  ASSERT_EQ(r.status, 0) << r.err;  // other options: starts over, and finishes
  EXPECT_TRUE(fs::exists(out));
}

TEST(QuantizeResume, ChangedOptionsStartOver) {
  const test::TempDir dir;
  const std::string out = dir.file("q.blq");
  ASSERT_TRUE(interrupt_after(out, {"--method", "gptq", "--bits", "4"}, "linear.", 2));
  const test::CliResult r = test::run_bitlens(quantize_args(out, {"--method", "gptq", "--bits", "3"}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.find("resuming"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(out + ".partial"));
}

TEST(QuantizeResume, UnwritableOutputFolderIsOneLine) {
  const test::TempDir dir;
  write_text_atomic(dir.file("not_a_dir"), "x");
  const std::string out = dir.file("not_a_dir") + "/q.blq";
  const test::CliResult r = test::run_bitlens(quantize_args(out, {"--method", "rtn"}));
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(test::lines_of(r.err).size(), 1u) << r.err;
  EXPECT_EQ(r.err.rfind("bitlens: " + out + ".partial: cannot create the resume folder", 0), 0u) << r.err;
}
