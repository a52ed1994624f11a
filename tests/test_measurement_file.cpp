// Candidate measurements on disk: a measurement of random layers round-trips exactly (specs,
// bits, errors) and allocates the same recipe as before saving; damaged files get one FileError
// naming the file and the problem.
#include <gtest/gtest.h>

#include "calib_data.h"
#include "gpu_test.h"
#include "model_fixtures.h"
#include "pipeline/measurement_file.h"
#include "pipeline/model_quant.h"

using namespace bitlens;
using namespace bitlens::quant;
using namespace bitlens::pipeline;

TEST(MeasurementFile, RoundTripsAndAllocatesTheSame) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const Calibration cal = calibration_from(test::stats_of(test::correlated_inputs(256, 64, seed), 64, 64));
  MeasurementFile f{"test calibration", {}};
  for (uint32_t l = 0; l < 3; ++l) {
    const auto w = test::random_normal(32 * 64, seed + 1 + l, 0.05f);
    const std::string name = "layers." + std::to_string(l) + ".wq";
    f.layers.push_back(measure_layer(name, w, 32, 64, &cal, default_candidates(32, 64, &cal)));
  }
  const test::TempDir dir;
  const std::string path = dir.file("m.json");
  save_measurements(path, f);
  const MeasurementFile g = load_measurements(path);
  EXPECT_EQ(g.calibration, f.calibration);
  ASSERT_EQ(g.layers.size(), f.layers.size());
  for (size_t l = 0; l < f.layers.size(); ++l) {
    EXPECT_EQ(g.layers[l].name, f.layers[l].name);
    EXPECT_EQ(g.layers[l].weights, f.layers[l].weights);
    EXPECT_EQ(g.layers[l].specs, f.layers[l].specs);
    EXPECT_EQ(g.layers[l].bits, f.layers[l].bits);
    EXPECT_EQ(g.layers[l].errors, f.layers[l].errors);  // JSON keeps doubles exactly (17 digits)
  }
  const Recipe a = allocate_recipe(f.layers, 3.0), b = allocate_recipe(g.layers, 3.0);
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (size_t l = 0; l < a.layers.size(); ++l) EXPECT_EQ(a.layers[l].spec, b.layers[l].spec);
  EXPECT_EQ(a.stored_bits, b.stored_bits);
}

TEST(MeasurementFile, DamageGivesOneFileError) {
  const test::TempDir dir;
  const std::string path = dir.file("bad.json");
  auto expect_error = [&](const std::string& text, const std::string& problem) {
    write_text_atomic(path, text);
    test::expect_file_error([&] { load_measurements(path); }, path, problem);
  };
  expect_error("{", "not valid JSON");
  expect_error(R"({"bitlens_recipe": 1, "layers": []})", "not a bitlens measurement file");
  expect_error(R"({"bitlens_measurements": "1", "calibration": "c", "layers": []})", "not a bitlens measurement file");
  expect_error(R"({"bitlens_measurements": 1, "calibration": "c", "layers": [{"name": "a", "weights": 4}]})",
               "layer 0 needs");
  expect_error(R"({"bitlens_measurements": 1, "calibration": "c", "layers": [{"name": "a", "weights": 4,
               "candidates": [{"name": "a", "method": "gptq", "bits": 5}]}]})", "bits must be 2, 3, 4 or 8");
  expect_error(R"({"bitlens_measurements": 1, "calibration": "c", "layers": [{"name": "a", "weights": 4,
               "candidates": [{"name": "b", "method": "rtn"}]}]})", "is named 'b'");
  EXPECT_THROW(load_measurements(dir.file("missing.json")), FileError);
}
