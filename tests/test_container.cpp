// The .blq container: bit-exact round trips of every tensor kind, and one clear FileError for each
// kind of damage (truncation, corruption of header, table, metadata or data, wrong version, trailing
// bytes, missing file, not a container).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/crc32.h"
#include "common/error.h"
#include "common/file_io.h"
#include "gpu_test.h"
#include "model/container.h"
#include "model/container_format.h"
#include "model/model_loader.h"
#include "quant/hadamard.h"
#include "synthetic_model.h"

using namespace bitlens;
using namespace bitlens::model;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("bitlens_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

// A packed model using every tensor kind: mixed formats, a rotation, LoRA, a separate classifier.
PackedModel rich_model(uint64_t seed) {
  ModelConfig c = test::small_config();
  c.shared_classifier = false;
  const Model m = test::synthetic_model(c, seed);
  PackedModel p = pack_model(m, {quant::Format::Q3, 32, quant::Format::Q8, 64});
  p.layers[0].linear(Linear::Wq).weight = pack_matrix(m.weights.layers[0].wq, quant::Format::F16, 0);
  p.layers[1].linear(Linear::W2).weight = pack_matrix(m.weights.layers[1].w2, quant::Format::Q2, 128);
  quant::PackedLinear& rot = p.layers[0].linear(Linear::W1);
  rot.rotation.input = true;
  rot.rotation.input_signs = quant::random_sign_bits(c.dim, seed);
  rot.rotation.output = true;
  rot.rotation.output_signs = quant::random_sign_bits(c.hidden_dim, seed + 1);
  quant::PackedLinear& lora = p.layers[1].linear(Linear::Wo);
  lora.lora_rank = 4;
  lora.lora_scale = 4.0f;
  lora.lora_a.assign(4 * c.dim, 0x3c00);
  lora.lora_b.assign(c.dim * 4, 0xbc00);
  return p;
}

void expect_same(const quant::PackedMatrix& a, const quant::PackedMatrix& b) {
  EXPECT_EQ(a.layout.format, b.layout.format);
  EXPECT_EQ(a.layout.rows, b.layout.rows);
  EXPECT_EQ(a.layout.cols, b.layout.cols);
  EXPECT_EQ(a.layout.group_size, b.layout.group_size);
  EXPECT_EQ(a.words, b.words);
}

TEST(Container, RoundTripIsBitExact) {
  const uint64_t seed = test::fresh_seed();
  const PackedModel p = rich_model(seed);
  ContainerMetadata meta;
  meta.recipe = {{"method", "test"}, {"bpw", 3.5}};
  meta.calibration = {{"sequences", 8}};
  const std::string path = temp_path("roundtrip.blq");
  write_container(path, p, meta);
  const LoadedContainer back = read_container(path);
  std::remove(path.c_str());
  const PackedModel& q = back.model;
  EXPECT_EQ(q.config.describe(), p.config.describe());
  expect_same(q.token_embedding, p.token_embedding);
  ASSERT_TRUE(q.classifier.has_value());
  expect_same(*q.classifier, *p.classifier);
  EXPECT_EQ(q.rms_final, p.rms_final);
  ASSERT_EQ(q.layers.size(), p.layers.size());
  for (size_t i = 0; i < p.layers.size(); ++i) {
    EXPECT_EQ(q.layers[i].rms_att, p.layers[i].rms_att);
    EXPECT_EQ(q.layers[i].rms_ffn, p.layers[i].rms_ffn);
    for (uint32_t k = 0; k < kLinearsPerLayer; ++k) {
      const auto &a = p.layers[i].linears[k], &b = q.layers[i].linears[k];
      expect_same(b.weight, a.weight);
      EXPECT_EQ(b.rotation.input, a.rotation.input);
      EXPECT_EQ(b.rotation.input_signs, a.rotation.input_signs);
      EXPECT_EQ(b.rotation.output, a.rotation.output);
      EXPECT_EQ(b.rotation.output_signs, a.rotation.output_signs);
      EXPECT_EQ(b.lora_rank, a.lora_rank);
      EXPECT_EQ(b.lora_scale, a.lora_scale);
      EXPECT_EQ(b.lora_a, a.lora_a);
      EXPECT_EQ(b.lora_b, a.lora_b);
    }
  }
  EXPECT_EQ(back.metadata.recipe, meta.recipe);
  EXPECT_EQ(back.metadata.calibration, meta.calibration);
  EXPECT_EQ(q.stored_bytes(), p.stored_bytes());
}

// Damage a valid container with `edit` and expect a FileError that names the file and says `what`.
void expect_damage(const std::string& name, const std::function<void(std::vector<uint8_t>&)>& edit,
                   const std::string& what) {
  const std::string path = temp_path(name);
  write_container(path, rich_model(1), {});
  std::vector<uint8_t> bytes = read_file(path);
  edit(bytes);
  write_file_atomic(path, bytes);
  try {
    read_container(path);
    ADD_FAILURE() << name << ": no error";
  } catch (const FileError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
  }
  std::remove(path.c_str());
}

container_format::Header header_of(const std::vector<uint8_t>& b) {
  container_format::Header h;
  std::memcpy(&h, b.data(), sizeof(h));
  return h;
}

void put_header(std::vector<uint8_t>& b, container_format::Header h) {
  h.header_crc = crc32({reinterpret_cast<const uint8_t*>(&h), sizeof(h) - 4});
  std::memcpy(b.data(), &h, sizeof(h));
}

TEST(Container, DamageGivesOneClearError) {
  expect_damage("truncated.blq", [](auto& b) { b.resize(b.size() - 100); }, "truncated");
  expect_damage("tiny.blq", [](auto& b) { b.resize(20); }, "too small");
  expect_damage("trailing.blq", [](auto& b) { b.push_back(0); }, "unexpected bytes");
  expect_damage("magic.blq", [](auto& b) { b[0] = 'X'; }, "bad magic");
  expect_damage("header.blq", [](auto& b) { b[30] ^= 1; }, "header checksum");
  expect_damage("version.blq", [](auto& b) {
    auto h = header_of(b);
    h.version = 7;
    put_header(b, h);
  }, "version 7 is not supported");
  expect_damage("table.blq", [](auto& b) { b[container_format::kHeaderBytes + 70] ^= 1; }, "tensor table checksum");
  expect_damage("metadata.blq", [](auto& b) { b[header_of(b).metadata_offset + 3] ^= 1; }, "metadata checksum");
  expect_damage("data.blq", [](auto& b) { b[b.size() - 1] ^= 0x40; }, "checksum mismatch");
  expect_damage("count.blq", [](auto& b) {
    auto h = header_of(b);
    h.n_tensors = 1u << 30;
    put_header(b, h);
  }, "invalid tensor count");
}

TEST(Container, MissingFileAndWrongKind) {
  try {
    read_container("/nonexistent/model.blq");
    FAIL();
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.blq"), std::string::npos);
  }
  const std::string path = temp_path("notacontainer.bin");
  write_text_atomic(path, std::string(200, 'x'));
  EXPECT_FALSE(is_container(path));
  EXPECT_THROW(read_container(path), FileError);
  std::remove(path.c_str());
  // A .blq whose magic is damaged is reported as a damaged container, not read as llama2.c.
  const std::string blq = temp_path("damaged_magic.blq");
  write_text_atomic(blq, std::string(4096, 'x'));
  EXPECT_EQ(detect_model_format(blq), ModelFormat::Container);
  try {
    load_model(blq);
    FAIL();
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find("bad magic"), std::string::npos) << e.what();
  }
  std::remove(blq.c_str());
}

}  // namespace
