// A quantized layer kept by an interrupted `bitlens quantize` reads back exactly, and damaged bytes
// give one FileError naming the piece instead of a wrong layer.
#include <gtest/gtest.h>

#include "common/error.h"
#include "gpu_test.h"
#include "model/linear_bytes.h"
#include "model_fixtures.h"
#include "pipeline/quantize_linear.h"

using namespace bitlens;

namespace {

// A rotated 2-bit layer with a LoRA correction: every field of PackedLinear in use.
quant::PackedLinear sample_linear(uint64_t seed) {
  const uint32_t rows = 96, cols = 128;
  const std::vector<float> w = test::random_normal(size_t(rows) * cols, seed);
  pipeline::LinearSpec spec{pipeline::Method::Rtn, 2, 64, quant::RotationMode::Both};
  quant::PackedLinear l = pipeline::quantize_linear(w, rows, cols, nullptr, spec, seed);
  l.lora_rank = 2;
  l.lora_scale = 0.5f;
  for (uint32_t i = 0; i < l.lora_rank * cols; ++i) l.lora_a.push_back(uint16_t(seed + i * 7));
  for (uint32_t i = 0; i < rows * l.lora_rank; ++i) l.lora_b.push_back(uint16_t(seed * 3 + i));
  return l;
}

}  // namespace

TEST(LinearBytes, RoundTripsEveryField) {
  const quant::PackedLinear l = sample_linear(test::fresh_seed());
  ASSERT_TRUE(l.rotation.input && l.rotation.output);
  const quant::PackedLinear back = model::linear_from_bytes(model::linear_to_bytes(l), "piece");
  EXPECT_EQ(back.weight.layout.format, l.weight.layout.format);
  EXPECT_EQ(back.weight.layout.rows, l.weight.layout.rows);
  EXPECT_EQ(back.weight.layout.cols, l.weight.layout.cols);
  EXPECT_EQ(back.weight.layout.group_size, l.weight.layout.group_size);
  EXPECT_EQ(back.weight.words, l.weight.words);
  EXPECT_EQ(back.rotation.input_signs, l.rotation.input_signs);
  EXPECT_EQ(back.rotation.output_signs, l.rotation.output_signs);
  EXPECT_EQ(back.lora_rank, l.lora_rank);
  EXPECT_EQ(back.lora_scale, l.lora_scale);
  EXPECT_EQ(back.lora_a, l.lora_a);
  EXPECT_EQ(back.lora_b, l.lora_b);
  EXPECT_EQ(back.stored_bytes(), l.stored_bytes());
}

TEST(LinearBytes, DamagedBytesAreOneFileError) {
  const std::vector<uint8_t> good = model::linear_to_bytes(sample_linear(test::fresh_seed()));
  const auto expect_error = [](std::vector<uint8_t> bytes, const std::string& problem) {
    test::expect_file_error([&] { model::linear_from_bytes(bytes, "out.partial/linear.x.piece"); },
                            "out.partial/linear.x.piece", problem);
  };
  expect_error({}, "truncated in magic");
  for (size_t cut : {size_t(10), size_t(40), good.size() / 2, good.size() - 1}) {
    SCOPED_TRACE(cut);
    expect_error({good.begin(), good.begin() + cut}, "truncated in");
  }
  std::vector<uint8_t> bytes = good;
  bytes[0] = 'X';
  expect_error(bytes, "bad magic");
  bytes = good;
  test::poke<uint32_t>(bytes, 4, 7);
  expect_error(bytes, "unsupported version 7");
  bytes = good;
  test::poke<uint32_t>(bytes, 12, 128);  // 128 rows instead of 96: the weight array no longer matches
  expect_error(bytes, "weight words has");
  bytes = good;
  bytes.push_back(0);
  expect_error(bytes, "1 bytes after the layer");
}
