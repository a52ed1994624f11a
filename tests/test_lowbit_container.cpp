// Low-bit layers in the .blq container: a model quantized from a recipe with every low-bit format
// (and rotations) round-trips bit-exactly, and damaged low-bit tables are refused on load.
#include <gtest/gtest.h>

#include <filesystem>

#include "calib_data.h"
#include "common/error.h"
#include "gpu_test.h"
#include "model/container.h"
#include "quant/lowbit.h"
#include "pipeline/model_quant.h"
#include "quant/ptq161_quant.h"
#include "quant/slim_quant.h"
#include "synthetic_model.h"

using namespace bitlens;
using namespace bitlens::quant;
using namespace bitlens::pipeline;

TEST(LowBitContainer, RoundTripIsBitExact) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const model::Model m = test::synthetic_model(test::small_config(), seed);
  const uint32_t dim = m.config.dim, hidden = m.config.hidden_dim;
  const Calibration cd = calibration_from(test::stats_of(test::correlated_inputs(256, dim, seed + 1), dim, 64));
  const Calibration ch = calibration_from(test::stats_of(test::correlated_inputs(256, hidden, seed + 2), hidden, 64));
  const CalibrationLookup cal = [&](const std::string& name) { return name.ends_with("w2") ? &ch : &cd; };
  const LinearSpec specs[] = {{Method::Slim, 2, 32},
                              {Method::Ptq161, 1, 0, RotationMode::None, 0.25},
                              {Method::Ternary, 2, 64, RotationMode::Both},
                              {Method::TritPlane, 4, 32},
                              {Method::Gptq, 3, 64, RotationMode::Input},
                              {Method::Clip, 2, 32},
                              {Method::Ptq161, 1, 0, RotationMode::Both, 0.1}};
  Recipe r;
  for (uint32_t i = 0; i < m.weights.layers.size(); ++i)
    for (uint32_t k = 0; k < model::kLinearsPerLayer; ++k)
      r.layers.push_back({linear_layer_name(i, model::Linear(k)), specs[(i + k) % 7]});
  const model::PackedModel p = quantize_model(m, r, cal, {});
  const std::string path =
      (std::filesystem::temp_directory_path() / ("bitlens_test_" + std::to_string(::getpid()) + "_lowbit.blq")).string();
  model::write_container(path, p);
  const model::PackedModel q = model::read_container(path).model;
  std::filesystem::remove(path);
  ASSERT_EQ(q.layers.size(), p.layers.size());
  for (size_t i = 0; i < p.layers.size(); ++i)
    for (size_t k = 0; k < model::kLinearsPerLayer; ++k) {
      const auto& a = p.layers[i].linears[k];
      const auto& b = q.layers[i].linears[k];
      EXPECT_EQ(a.weight.layout.format, b.weight.layout.format);
      EXPECT_EQ(a.weight.layout.group_size, b.weight.layout.group_size);
      EXPECT_EQ(a.weight.layout.aux, b.weight.layout.aux);
      EXPECT_EQ(a.weight.words, b.weight.words) << a.weight.layout.describe();
      EXPECT_EQ(a.rotation.input_signs, b.rotation.input_signs);
      EXPECT_EQ(a.rotation.output_signs, b.rotation.output_signs);
      EXPECT_EQ(dequantize(a.weight), dequantize(b.weight));
    }
}

TEST(LowBitContainer, DamagedTablesAreRefused) {
  const auto w = test::random_normal(16 * 96, test::fresh_seed(), 0.05f);
  const auto mag = test::random_normal(96, 5);
  Ptq161Options o;
  o.salient_fraction = 0.25;
  const PackedMatrix good = pack(quantize_ptq161(w, 16, 96, mag, nullptr, o));
  EXPECT_NO_THROW(validate_tables(good));
  const auto sections_at = good.layout.params_offset_words();
  PackedMatrix bad = good;
  bad.words[sections_at + 3] += 4;  // salient codes moved
  EXPECT_THROW(validate_tables(bad), Error);
  bad = good;
  const uint64_t index_word = good.words[sections_at + 2];
  bad.words[index_word] = (bad.words[index_word] & 0xffff0000u) | 200u;  // column 200 of 96
  EXPECT_THROW(validate_tables(bad), Error);
  bad = good;
  bad.words[good.words[sections_at + 1]] ^= 1u << 7;  // mask and list disagree
  EXPECT_THROW(validate_tables(bad), Error);
  const PackedMatrix mixed = pack(quantize_mixed_rtn(w, 16, 96, 32, {1, 4, 2}));
  EXPECT_NO_THROW(validate_tables(mixed));
  PackedMatrix bad_mixed = mixed;
  bad_mixed.words[1] += 16;  // prefix of group 1 wrong
  EXPECT_THROW(validate_tables(bad_mixed), Error);
}
