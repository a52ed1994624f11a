// `bitlens quantize` on the real model: a uniform GPTQ 4-bit quantization with calibration
// captured from sampled text writes a container that loads back with the recipe it reports, stays
// close to the fp32 model on Moby Dick; an ApiQ model stores its LoRA factors (counted in its bpw)
// and runs with `bitlens run` on the CPU and Vulkan backends; a ternary container that `eval`
// reads (CPU and Vulkan) is refused with one line once truncated or damaged; bad requests end in
// one "bitlens:" line.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "cli_process.h"
#include "gpu_test.h"
#include "model/container.h"
#include "model_fixtures.h"
#include "pipeline/recipe.h"

using namespace bitlens;

namespace {

using Result = test::CliResult;

// Runs `bitlens args` with stdout and stderr captured.
Result run_cli(const std::string& args) { return test::run_bitlens_shell(args); }

Result run_quantize(const std::string& args) { return run_cli("quantize '" + test::stories15m_path() + "' " + args); }

}  // namespace

TEST(QuantizeCli, Gptq4BitModelRoundTripsAndStaysClose) {
  const test::TempDir dir;
  const std::string out = dir.file("q4.blq"), recipe = dir.file("recipe.json"), report = dir.file("report.json");
  const Result r = run_quantize("--method gptq --bits 4 --group 64 --calib-tokens 512 --eval 2 --data '" +
                                std::string(BITLENS_SOURCE_DIR) + "/data' -o '" + out + "' --save-recipe '" + recipe +
                                "' --json '" + report + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(read_text_file(report));
  EXPECT_EQ(j["calibration"]["tokens"], 512);
  // 4 code bits, one 32-bit (scale, offset) word per 64 weights, 288-wide rows in groups 64/.../32.
  EXPECT_NEAR(j["linear_bpw"].get<double>(), 4.54, 0.01);
  // Two windows of Moby Dick: a 4-bit GPTQ model agrees with fp32 on most next tokens.
  EXPECT_LT(j["eval"]["mean_kl"].get<double>(), 0.5);
  EXPECT_GT(j["eval"]["top1_agreement"].get<double>(), 0.5);
  const pipeline::Recipe rec = pipeline::load_recipe(recipe);
  ASSERT_EQ(rec.layers.size(), 42u);
  EXPECT_EQ(rec.layers[0].spec, (pipeline::LinearSpec{pipeline::Method::Gptq, 4, 64}));
  const model::LoadedContainer c = model::read_container(out);
  EXPECT_EQ(c.metadata.recipe["layers"].size(), 42u);
  uint64_t bits = 0;
  for (const auto& l : c.model.layers)
    for (const auto& lin : l.linears) {
      EXPECT_EQ(lin.weight.layout.format, quant::Format::Q4);
      bits += lin.stored_bytes() * 8;
    }
  EXPECT_EQ(bits, rec.stored_bits);
}

TEST(QuantizeCli, BadRequestsAreOneLine) {
  Result r = run_quantize("--calib-tokens 64");
  EXPECT_EQ(r.err, "bitlens: quantize needs -o FILE, --save-recipe FILE or --eval N\n");
  r = run_quantize("--method gptq --bits 5 --calib-tokens 64 --eval 1");
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.err.rfind("bitlens: quantization spec 'gptq q5 g64': bits must be 2, 3, 4 or 8", 0), 0u) << r.err;
  r = run_quantize("--target-bpw 0.5 --candidates ternary --calib-tokens 64 --eval 1");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("below the smallest candidates"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(QuantizeCli, ApiqModelStoresItsLoraFactorsAndRunsOnBothBackends) {
  const test::TempDir dir;
  const std::string out = dir.file("apiq.blq"), report = dir.file("report.json");
  const Result r = run_quantize("--method apiq-sal --regularizer before --bits 2 --group 64 --rank 2 --epochs 1 "
                                "--calib-tokens 512 -o '" + out + "' --json '" + report + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(read_text_file(report));
  EXPECT_EQ(j["apiq"]["regularizer"], "before");
  EXPECT_EQ(j["apiq"]["sequences"], 2);
  const model::LoadedContainer c = model::read_container(out);
  uint64_t bits = 0, weights = 0, lora_bits = 0;
  for (const auto& l : c.model.layers)
    for (const auto& lin : l.linears) {
      EXPECT_EQ(lin.weight.layout.format, quant::Format::Q2);
      ASSERT_EQ(lin.lora_rank, 2u);
      EXPECT_EQ(lin.lora_scale, 0.25f);
      EXPECT_TRUE(std::any_of(lin.lora_b.begin(), lin.lora_b.end(), [](uint16_t h) { return (h & 0x7fff) != 0; }))
          << "B is trained away from zero";
      bits += lin.stored_bytes() * 8;
      weights += uint64_t(lin.weight.layout.rows) * lin.weight.layout.cols;
      lora_bits += 16 * 2 * uint64_t(lin.weight.layout.rows + lin.weight.layout.cols) + 32;
    }
  // The reported bpw counts the fp16 factors: Q2 g64 (2.54, as 4.54 at 4 bits) plus 16 r (in + out) + 32 bits per layer.
  EXPECT_NEAR(j["linear_bpw"].get<double>(), double(bits) / double(weights), 1e-9);
  EXPECT_NEAR(j["linear_bpw"].get<double>(), 2.54 + double(lora_bits) / double(weights), 0.01);
  for (const std::string backend : {"cpu", "vulkan"}) {
    if (backend == "vulkan" && test::missing_device()) continue;
    const Result g = run_cli("run '" + out + "' --tokenizer '" + test::tokenizer_path() +
                             "' -n 8 --temp 0 --backend " + backend);
    EXPECT_EQ(g.status, 0) << backend << ": " << g.err;
    EXPECT_FALSE(g.out.empty()) << backend;
  }
}

TEST(QuantizeCli, BadApiqRequestsAreOneLine) {
  Result r = run_quantize("--method apiq-sal --regularizer middle --calib-tokens 64 --eval 1");
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.err, "bitlens: --regularizer must be 'after' or 'before' (LoRA), not 'middle'\n");
  r = run_quantize("--method apiq --target-bpw 0.3 --calib-tokens 64 --eval 1");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("does not cover the LoRA factors"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(QuantizeCli, EvalReadsTheContainerAndRefusesDamagedOnes) {
  const test::TempDir dir;
  const std::string out = dir.file("ternary.blq"), report = dir.file("report.json");
  Result r = run_quantize("--method ternary --group 64 --calib-tokens 256 -o '" + out + "' --json '" + report + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(read_text_file(report));
  for (const char* step : {"calibration", "recipe", "quantization"}) EXPECT_GE(j["seconds"][step].get<double>(), 0.0);
  const std::string eval = " --tokenizer '" + test::tokenizer_path() + "' --text '" +
                           test::data_path("texts/moby-dick/chapter_1.txt") + "' --windows 1 --window-len 32 --json -";
  double cpu_ppl = 0;
  for (const char* backend : {"cpu", "vulkan"}) {
    r = run_cli("eval '" + out + "'" + eval + " --backend " + backend);
    ASSERT_EQ(r.status, 0) << backend << ": " << r.err;
    const double ppl = nlohmann::json::parse(r.out.substr(r.out.find('{')))["perplexity"].get<double>();
    EXPECT_GT(ppl, 1.0) << backend;
    if (cpu_ppl == 0) cpu_ppl = ppl;
    EXPECT_NEAR(ppl, cpu_ppl, 1e-3 * cpu_ppl) << backend;  // the backends' logits agree to ~1e-3 relative
  }
  const std::vector<uint8_t> bytes = test::read_bytes(out);
  const std::string bad = dir.file("bad.blq");
  auto expect_refused = [&](const std::vector<uint8_t>& damaged, const std::string& problem) {
    test::write_bytes(bad, damaged);
    const Result e = run_cli("eval '" + bad + "'" + eval);
    EXPECT_NE(e.status, 0) << problem;
    EXPECT_EQ(e.err.rfind("bitlens: " + bad + ": ", 0), 0u) << e.err;
    EXPECT_NE(e.err.find(problem), std::string::npos) << e.err;
    EXPECT_EQ(std::count(e.err.begin(), e.err.end(), '\n'), 1) << e.err;
  };
  expect_refused(std::vector<uint8_t>(bytes.begin(), bytes.begin() + bytes.size() / 2), "truncated");
  std::vector<uint8_t> flipped = bytes;
  flipped[bytes.size() - 5] ^= 0x10;
  expect_refused(flipped, "checksum mismatch");
}
