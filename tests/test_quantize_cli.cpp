// `bitlens quantize` on the real model: a uniform GPTQ 4-bit quantization with calibration
// captured from sampled text writes a container that loads back with the recipe it reports, stays
// close to the fp32 model on Moby Dick, and bad requests end in one "bitlens:" line.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <sys/wait.h>

#include "model/container.h"
#include "model_fixtures.h"
#include "quant/recipe.h"

using namespace bitlens;

namespace {

struct Result {
  int status;
  std::string out, err;
};

Result run_quantize(const std::string& args) {
  const test::TempDir dir;
  const std::string err_file = dir.file("stderr.txt");
  const std::string cmd = std::string("'") + BITLENS_CLI + "' quantize '" + test::stories15m_path() + "' " + args +
                          " 2>'" + err_file + "'";
  FILE* p = ::popen(cmd.c_str(), "r");
  Result r{-1, "", ""};
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = read_text_file(err_file);
  return r;
}

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
  const quant::Recipe rec = quant::load_recipe(recipe);
  ASSERT_EQ(rec.layers.size(), 42u);
  EXPECT_EQ(rec.layers[0].spec, (quant::LinearSpec{quant::Method::Gptq, 4, 64}));
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
