// Recipes and whole-model allocation on a small synthetic model: JSON round trip and clear errors,
// the budget met with every overhead counted, layers fixed by hand kept, and the PackedModel built
// from the recipe storing exactly the recipe's bits.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <unistd.h>

#include "calib_data.h"
#include "common/error.h"
#include "common/file_io.h"
#include "gpu_test.h"
#include "pipeline/model_quant.h"

using namespace bitlens;
using namespace bitlens::quant;
using namespace bitlens::pipeline;

namespace {

// A 2-layer model of width 64 (a power of two) and hidden width 96 (12 * 8): every linear can be
// rotated; one input channel of w2 is loud so that layers differ in sensitivity.
model::Model tiny_model(uint64_t seed) {
  struct Owned {
    std::vector<std::vector<float>> blocks;
  };
  auto owned = std::make_shared<Owned>();
  owned->blocks.reserve(64);
  auto make = [&](uint32_t rows, uint32_t cols, float stddev, uint64_t s) {
    owned->blocks.push_back(test::random_normal(size_t(rows) * cols, s, stddev));
    return model::Matrix{owned->blocks.back().data(), rows, cols};
  };
  model::Model m;
  m.config = {64, 96, 2, 4, 4, 50, 16};
  m.weights.token_embedding = make(50, 64, 0.1f, seed);
  m.weights.classifier = m.weights.token_embedding;
  for (uint32_t i = 0; i < 2; ++i) {
    model::LayerWeights l;
    const uint64_t s = seed + 100 * (i + 1);
    l.rms_att = make(1, 64, 1.0f, s);
    l.wq = make(64, 64, 0.05f, s + 1);
    l.wk = make(64, 64, 0.05f, s + 2);
    l.wv = make(64, 64, 0.05f, s + 3);
    l.wo = make(64, 64, 0.05f, s + 4);
    l.rms_ffn = make(1, 64, 1.0f, s + 5);
    l.w1 = make(96, 64, 0.05f, s + 6);
    l.w2 = make(64, 96, 0.05f, s + 7);
    l.w3 = make(96, 64, 0.05f, s + 8);
    m.weights.layers.push_back(l);
  }
  m.weights.rms_final = make(1, 64, 1.0f, seed + 999);
  m.storage = owned;
  return m;
}

std::string temp_path(const char* name) { return "/tmp/bitlens_test_" + std::to_string(getpid()) + "_" + name; }

}  // namespace

TEST(Recipe, JsonRoundTripAndErrors) {
  Recipe r;
  r.target_bpw = 2.5;
  r.weights = 1000;
  r.budget_bits = 2500;
  r.stored_bits = 2400;
  r.layers.push_back({"layers.0.wq", {Method::Gptq, 2, 64, RotationMode::Both}, true, 1200, 0.5});
  r.layers.push_back({"layers.0.wk", {Method::Ptq161, 1, 64, RotationMode::None, 0.25}, false, 1200, 0.25});
  const std::string path = temp_path("recipe.json");
  save_recipe(path, r);
  const Recipe back = load_recipe(path);
  std::remove(path.c_str());
  EXPECT_EQ(back.target_bpw, 2.5);
  EXPECT_EQ(back.stored_bits, 2400u);
  ASSERT_EQ(back.layers.size(), 2u);
  EXPECT_EQ(back.layers[0].spec, r.layers[0].spec);
  EXPECT_TRUE(back.layers[0].fixed);
  EXPECT_EQ(back.layers[1].spec, r.layers[1].spec);
  EXPECT_EQ(back.layers[1].spec.salient_fraction, 0.25);
  EXPECT_EQ(back.layers[1].error, 0.25);
  // A hand-written layer needs only a name and a method.
  const Recipe hand = parse_recipe(R"({"bitlens_recipe": 1, "layers": [{"name": "a", "method": "ternary", "fixed": true}]})", "hand");
  EXPECT_EQ(hand.layers[0].spec, (LinearSpec{Method::Ternary, 2, 64}));

  auto fails = [](const std::string& text, const std::string& needle) {
    try {
      parse_recipe(text, "r.json");
    } catch (const FileError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("r.json: ", 0), 0u) << e.what();
      return;
    }
    ADD_FAILURE() << "accepted: " << text;
  };
  fails("{", "not valid JSON");
  fails(R"({"layers": []})", "not a bitlens recipe");
  fails(R"({"bitlens_recipe": 2, "layers": []})", "version");
  fails(R"({"bitlens_recipe": 1})", "missing \"layers\"");
  fails(R"({"bitlens_recipe": 1, "layers": [{"method": "rtn"}]})", "missing \"name\"");
  fails(R"({"bitlens_recipe": 1, "layers": [{"name": "a", "method": "awq"}]})", "unknown quantization method 'awq'");
  fails(R"({"bitlens_recipe": 1, "layers": [{"name": "a", "method": "rtn", "bits": 5}]})", "bits must be 2, 3, 4 or 8");
  fails(R"({"bitlens_recipe": 1, "layers": [{"name": "a", "method": "rtn", "group": 64}]})", "unknown field \"group\"");
  fails(R"({"bitlens_recipe": 1, "layers": [{"name": "a", "method": "rtn", "rotation": "left"}]})", "unknown rotation");
  fails(R"({"bitlens_recipe": 1, "layers": [{"name": "a", "method": "rtn", "bits": -2}]})", "non-negative integer");
  fails(R"({"bitlens_recipe": 1, "layers": [{"name": "a", "method": "rtn"}, {"name": "a", "method": "rtn"}]})", "twice");
  EXPECT_THROW(load_recipe("/nonexistent/recipe.json"), FileError);
}

TEST(ModelAllocation, MeetsTheBudgetAndKeepsHandFixedLayers) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const model::Model m = tiny_model(seed);
  // Calibration: correlated inputs of the two widths.
  const Calibration c64 = calibration_from(test::stats_of(test::correlated_inputs(512, 64, seed + 1), 64, 64));
  const Calibration c96 = calibration_from(test::stats_of(test::correlated_inputs(512, 96, seed + 2), 96, 64));
  const CalibrationLookup cal = [&](const std::string& name) { return name.ends_with("w2") ? &c96 : &c64; };
  const std::vector<LayerMeasurement> meas = measure_model(m, cal);
  ASSERT_EQ(meas.size(), 14u);
  for (const auto& lm : meas) ASSERT_GT(lm.specs.size(), 20u) << lm.name;  // gptq x bits x groups x rotation, slim, ptq161, ...

  Recipe hand;
  hand.layers.push_back({"layers.1.w2", {Method::Gptq, 8, 128}, true});
  double last_error = INFINITY;
  for (double bpw : {2.6, 3.0, 3.5, 4.5}) {
    const Recipe r = allocate_recipe(meas, bpw, &hand);
    ASSERT_EQ(r.layers.size(), 14u);
    EXPECT_LE(r.stored_bits, r.budget_bits);
    EXPECT_EQ(r.budget_bits, uint64_t(std::floor(bpw * r.weights)));
    const RecipeLayer* fixed = r.find("layers.1.w2");
    ASSERT_TRUE(fixed && fixed->fixed);
    EXPECT_EQ(fixed->spec, (LinearSpec{Method::Gptq, 8, 128}));
    double error = 0;
    for (const auto& l : r.layers) error += l.error;
    EXPECT_LE(error, last_error * (1 + 1e-12)) << bpw;
    last_error = error;
    // The model built from the recipe stores exactly the recipe's bits.
    const model::PackedModel pm = quantize_model(m, r, cal, {});
    uint64_t bits = 0, weights = 0;
    for (const auto& layer : pm.layers)
      for (const auto& lin : layer.linears) {
        bits += lin.stored_bytes() * 8;
        weights += uint64_t(lin.weight.layout.rows) * lin.weight.layout.cols;
      }
    EXPECT_EQ(bits, r.stored_bits);
    EXPECT_DOUBLE_EQ(pm.linear_bpw(), double(bits) / double(weights));
    EXPECT_LE(pm.linear_bpw(), bpw);
  }
  EXPECT_THROW(allocate_recipe(meas, 0.5, &hand), Error);  // below the smallest candidates
  Recipe bad;
  bad.layers.push_back({"layers.0.wq", {Method::Gptq, 3, 32}, true});
  EXPECT_THROW(allocate_recipe(meas, 3.0, &bad), Error);  // g32 was not measured
  Recipe partial;
  partial.layers.push_back({"layers.0.wq", {Method::Rtn, 4, 64}});
  EXPECT_THROW(quantize_model(m, partial, cal, {}), Error);
}
