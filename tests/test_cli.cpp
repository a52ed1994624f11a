// The `bitlens` executable: --help on every command, the golden story through `run`, `eval` with
// its JSON report, `convert` to a GGUF that `run` reads back, and errors as one "bitlens:" line.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_process.h"
#include "model_fixtures.h"

using namespace bitlens;

namespace {

using Result = test::CliResult;

// Runs `bitlens args` with stdout and stderr captured.
Result run_cli(const std::string& args) { return test::run_bitlens_shell(args); }

std::string quoted(const std::string& s) { return "'" + s + "'"; }

}  // namespace

TEST(Cli, HelpForEveryCommand) {
  const Result top = run_cli("--help");
  EXPECT_EQ(top.status, 0);
  for (const char* cmd : {"run", "eval", "convert"}) {
    EXPECT_NE(top.out.find(cmd), std::string::npos) << cmd;
    const Result r = run_cli(std::string(cmd) + " --help");
    EXPECT_EQ(r.status, 0) << cmd;
    EXPECT_NE(r.out.find("--tokenizer"), std::string::npos) << cmd << r.out;
  }
}

TEST(Cli, RunStreamsTheGoldenStory) {
  const Result r = run_cli("run " + quoted(test::stories15m_path()) + " -p 'Once upon a time' -n 20");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Once upon a time, there was a little girl named Lily.", 0), 0u) << r.out;
  EXPECT_NE(r.err.find("prefill: 5 tokens"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("decode: 19 tokens"), std::string::npos) << r.err;
}

TEST(Cli, ErrorsAreOneLine) {
  const std::string missing = "/nonexistent/model.bin";
  Result r = run_cli("run " + missing);
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.err, "bitlens: " + missing + ": cannot open: No such file or directory\n");
  r = run_cli("run " + quoted(test::stories15m_path()) + " --tokenizer " + quoted(test::stories15m_path()));
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.err.rfind("bitlens: " + test::stories15m_path() + ": token ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("not a llama2.c tokenizer"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = run_cli("run " + quoted(test::stories15m_path()) + " --backend tpu");
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.err, "bitlens: unknown backend \"tpu\" (choose cpu or vulkan)\n");
  r = run_cli("run " + quoted(test::stories15m_path()) + " --kv-cache f8");
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.err.rfind("bitlens: --kv-cache", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = run_cli("eval --no-such-option");
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.err.rfind("bitlens: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = run_cli("eval " + quoted(test::stories15m_path()));
  EXPECT_EQ(r.err, "bitlens: eval needs exactly one of --text FILE, --moby-dick, --sampled\n");
}

TEST(Cli, EvalWritesAJsonReport) {
  const test::TempDir dir;
  const std::string text = test::data_path("texts/moby-dick/chapter_1.txt"), json = dir.file("report.json");
  const std::string model = quoted(test::stories15m_path());
  Result r =
      run_cli("eval " + model + " --text " + quoted(text) + " --windows 2 --window-len 64 --json " + quoted(json));
  ASSERT_EQ(r.status, 0) << r.err;
  nlohmann::json report = nlohmann::json::parse(read_text_file(json));
  EXPECT_EQ(report["protocol"]["windows"], 2);
  EXPECT_EQ(report["scored_tokens"], 2 * 63);
  EXPECT_GT(report["perplexity"].get<double>(), 1.0);
  // Against itself: no divergence, full agreement.
  r = run_cli("eval " + model + " --ref " + model + " --text " + quoted(text) +
              " --windows 2 --window-len 64 --second-half --json -");
  ASSERT_EQ(r.status, 0) << r.err;
  report = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(report["scored_tokens"], 2 * 31);
  EXPECT_EQ(report["mean_kl"].get<double>(), 0.0);
  EXPECT_EQ(report["top1_agreement"].get<double>(), 1.0);
}

TEST(Cli, ConvertToGgufThenRunIt) {
  const test::TempDir dir;
  const std::string gguf = dir.file("stories15M-f16.gguf");
  Result r = run_cli("convert " + quoted(test::stories15m_path()) + " -o " + quoted(gguf) + " --f16");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("GGUF F16"), std::string::npos);
  r = run_cli("run " + quoted(gguf) + " -p 'Once upon a time' -n 12");  // its own embedded vocabulary
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Once upon a time, there was a little girl named Lily.", 0), 0u) << r.out;
}

TEST(Cli, SavedSampledTextGivesTheSamePerplexity) {
  const test::TempDir dir;
  const std::string model = quoted(test::stories15m_path()), text = dir.file("sampled.txt");
  Result r = run_cli("eval " + model + " --sampled --seed 7 --windows 2 --window-len 64 --save-text " + quoted(text) +
                     " --json -");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto sampled = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_GT(read_text_file(text).size(), 100u);
  r = run_cli("eval " + model + " --text " + quoted(text) + " --windows 2 --window-len 64 --json -");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto reread = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(reread["scored_tokens"], sampled["scored_tokens"]);
  EXPECT_EQ(reread["perplexity"].get<double>(), sampled["perplexity"].get<double>());
}
