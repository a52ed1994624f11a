// The Vulkan forward pass on the real model (stories15M) against the CPU reference forward pass:
// greedy decoding of 200 tokens from "Once upon a time" gives the same tokens with fp32 weights
// (and the golden story); the logits of a 48-token window of Moby Dick agree to 1e-4 relative
// with fp32 weights, and to 1e-3 relative with 4-bit and 2-bit round-to-nearest weights and with
// a model whose layers cycle through every low-bit format (mixed, ptq161, ternary, tritplane,
// GPTQ and clipped q2/q3) with and without Hadamard rotations, read back from a .blq container (the
// CPU running the dequantized model).
// Relative error of a row of logits: max_i |got_i - ref_i| / max_i |ref_i|.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "calib_data.h"
#include "common/file_io.h"
#include "gpu_test.h"
#include "model/container.h"
#include "model/cpu_forward.h"
#include "model/float_model.h"
#include "model/generate.h"
#include "model/model_loader.h"
#include "model/vulkan_forward.h"
#include "model_fixtures.h"
#include "pipeline/model_quant.h"

using namespace bitlens;
using namespace bitlens::model;

namespace {

class VulkanForwardModel : public test::GpuTest {
 protected:
  static const Model& stories15m() {
    static const Model m = load_model(test::stories15m_path());
    return m;
  }

  // The first n tokens of Moby Dick's first chapter, BOS first.
  static std::vector<uint32_t> moby_dick(uint32_t n) {
    const Tokenizer tok = load_tokenizer_for(stories15m(), "");
    const std::vector<uint8_t> bytes = read_file(test::data_path("texts/moby-dick/chapter_1.txt"));
    std::vector<uint32_t> tokens = tok.encode(std::string(bytes.begin(), bytes.end()), true, false);
    tokens.resize(n);
    return tokens;
  }

  static double relative_error(std::span<const float> got, std::span<const float> ref) {
    double err = 0, mag = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      err = std::max(err, std::abs(double(got[i]) - ref[i]));
      mag = std::max(mag, std::abs(double(ref[i])));
    }
    return err / mag;
  }

  // Logits of every position of the window on both backends, row by row.
  void expect_window_close(const PackedModel& packed, double tol) {
    const std::vector<uint32_t> window = moby_dick(48);
    CpuForward cpu(to_float_model(packed));
    VulkanForward vulkan(gpu(), packed);
    const auto ref_logits = cpu.prefill(window, 0, true);
    const std::vector<float> ref(ref_logits.begin(), ref_logits.end());
    const auto got = vulkan.prefill(window, 0, true);
    const uint32_t vocab = packed.config.vocab_size;
    ASSERT_EQ(got.size(), ref.size());
    double worst = 0;
    for (size_t t = 0; t < window.size(); ++t)
      worst = std::max(worst, relative_error(got.subspan(t * vocab, vocab), std::span(ref).subspan(t * vocab, vocab)));
    RecordProperty("max_relative_error", std::to_string(worst));
    EXPECT_LE(worst, tol);
  }
};

TEST_F(VulkanForwardModel, GreedyDecodingMatchesCpuFp32) {
  const Tokenizer tok = load_tokenizer_for(stories15m(), "");
  CpuForward cpu(stories15m());
  VulkanForward vulkan(gpu(), pack_model(stories15m(), {}));
  auto story = [&](Forward& f) {
    Sampler greedy({});
    return generate(f, tok, greedy, "Once upon a time", {.max_new_tokens = 200});
  };
  const GenerateResult ref = story(cpu), got = story(vulkan);
  ASSERT_EQ(got.tokens.size(), 200u);
  EXPECT_EQ(got.tokens, ref.tokens) << "cpu:    " << ref.text << "\nvulkan: " << got.text;
  const std::string expected = ", there was a little girl named Lily. She loved to play outside";
  EXPECT_EQ(got.text.substr(0, expected.size()), expected);
}

TEST_F(VulkanForwardModel, WindowLogitsMatchCpuFp32) { expect_window_close(pack_model(stories15m(), {}), 1e-4); }

TEST_F(VulkanForwardModel, WindowLogitsMatchCpuQ4) {
  PackOptions o;
  o.linear_format = quant::Format::Q4;
  o.embedding_format = quant::Format::Q4;
  expect_window_close(pack_model(stories15m(), o), 1e-3);
}

TEST_F(VulkanForwardModel, WindowLogitsMatchCpuQ2) {
  PackOptions o;
  o.linear_format = quant::Format::Q2;
  o.embedding_format = quant::Format::Q2;
  expect_window_close(pack_model(stories15m(), o), 1e-3);
}

TEST_F(VulkanForwardModel, WindowLogitsMatchCpuEveryLowBitFormatFromContainer) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const Model& m = stories15m();
  // Synthetic calibration inputs of the right widths: the test is about the kernels, not quality.
  const uint32_t dim = m.config.dim, hidden = m.config.hidden_dim;
  const quant::Calibration cd = pipeline::calibration_from(test::stats_of(test::correlated_inputs(512, dim, seed), dim));
  const quant::Calibration ch =
      pipeline::calibration_from(test::stats_of(test::correlated_inputs(512, hidden, seed + 1), hidden));
  const pipeline::CalibrationLookup cal = [&](const std::string& name) { return name.ends_with("w2") ? &ch : &cd; };
  using pipeline::Method, quant::RotationMode;
  const pipeline::LinearSpec specs[] = {{Method::Slim, 2, 64},
                                     {Method::Ptq161, 1, 0, RotationMode::Both, 0.2},
                                     {Method::Ternary, 2, 64, RotationMode::Input},
                                     {Method::TritPlane, 4, 128},
                                     {Method::Gptq, 3, 128, RotationMode::Both},
                                     {Method::Clip, 2, 64},
                                     {Method::Ptq161, 1, 0, RotationMode::None, 0.1},
                                     {Method::Slim, 3, 128, RotationMode::Both}};
  pipeline::Recipe r;
  for (uint32_t i = 0; i < m.config.n_layers; ++i)
    for (uint32_t k = 0; k < kLinearsPerLayer; ++k)
      r.layers.push_back({pipeline::linear_layer_name(i, Linear(k)), specs[(i * kLinearsPerLayer + k + seed) % 8]});
  const test::TempDir dir;
  write_container(dir.file("lowbit.blq"), pipeline::quantize_model(m, r, cal, {quant::Format::F32, 64, quant::Format::Q8, 64}));
  expect_window_close(read_container(dir.file("lowbit.blq")).model, 1e-3);
}

}  // namespace
