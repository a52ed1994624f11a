// Model files: the real llama2.c v0 checkpoint, llama2.c v0/v1 and GGUF F32/F16 export and import
// (real model and a random one with a separate classifier and grouped-query attention), and one
// clear FileError naming the file for every kind of bad input.
#include <gtest/gtest.h>

#include <cstring>

#include "common/fp16.h"
#include "model/cpu_forward.h"
#include "model/gguf_model.h"
#include "model/llama2c.h"
#include "model/model_loader.h"
#include "model/sampler.h"
#include "model_fixtures.h"

using namespace bitlens;
using model::Matrix;
using model::Model;

namespace {

// Every tensor of the two models, paired (names for failure messages).
std::vector<std::pair<std::string, std::pair<Matrix, Matrix>>> tensor_pairs(const Model& a, const Model& b) {
  std::vector<std::pair<std::string, std::pair<Matrix, Matrix>>> out = {
      {"token_embedding", {a.weights.token_embedding, b.weights.token_embedding}},
      {"rms_final", {a.weights.rms_final, b.weights.rms_final}},
      {"classifier", {a.weights.classifier, b.weights.classifier}}};
  for (size_t l = 0; l < a.weights.layers.size(); ++l) {
    const auto &x = a.weights.layers[l], &y = b.weights.layers[l];
    const std::string p = "layer " + std::to_string(l) + " ";
    out.push_back({p + "rms_att", {x.rms_att, y.rms_att}});
    out.push_back({p + "rms_ffn", {x.rms_ffn, y.rms_ffn}});
    for (uint32_t i = 0; i < model::kLinearsPerLayer; ++i)
      out.push_back(
          {p + model::linear_name(model::Linear(i)), {x.linear(model::Linear(i)), y.linear(model::Linear(i))}});
  }
  return out;
}

void expect_same_config(const model::ModelConfig& a, const model::ModelConfig& b) {
  EXPECT_EQ(a.describe(), b.describe());
  EXPECT_EQ(a.shared_classifier, b.shared_classifier);
  EXPECT_EQ(a.rope_theta, b.rope_theta);
  EXPECT_EQ(a.norm_eps, b.norm_eps);
}

// Bit-exact equality of every weight.
void expect_identical(const Model& a, const Model& b) {
  expect_same_config(a.config, b.config);
  ASSERT_EQ(a.weights.layers.size(), b.weights.layers.size());
  for (const auto& [name, m] : tensor_pairs(a, b)) {
    ASSERT_EQ(m.first.rows, m.second.rows) << name;
    ASSERT_EQ(m.first.cols, m.second.cols) << name;
    EXPECT_EQ(std::memcmp(m.first.data, m.second.data, m.first.span().size() * 4), 0) << name;
  }
}

std::vector<uint32_t> greedy_tokens(const Model& m, const std::vector<uint32_t>& prompt, uint32_t n) {
  model::CpuForward f(m);
  std::vector<uint32_t> out;
  std::span<const float> logits = f.prefill(prompt, 0, false);
  uint32_t pos = uint32_t(prompt.size());
  while (out.size() < n) {
    out.push_back(model::argmax(logits));
    logits = f.forward(out.back(), pos++);
  }
  return out;
}

// Offset of the tensor info of `name` in a GGUF file: where its type field and offset field lie.
struct TensorInfoAt {
  size_t type, offset;
};
TensorInfoAt find_tensor_info(const std::vector<uint8_t>& bytes, const std::string& name) {
  std::vector<uint8_t> key(8 + name.size());
  const uint64_t len = name.size();
  std::memcpy(key.data(), &len, 8);
  std::memcpy(key.data() + 8, name.data(), name.size());
  const auto it = std::search(bytes.begin(), bytes.end(), key.begin(), key.end());
  EXPECT_NE(it, bytes.end()) << name;
  size_t at = size_t(it - bytes.begin()) + key.size();
  uint32_t n_dims;
  std::memcpy(&n_dims, &bytes[at], 4);
  at += 4 + 8 * size_t(n_dims);
  return {at, at + 4};
}

}  // namespace

TEST(ModelFiles, LoadsTheRealCheckpoint) {
  const Model m = model::load_model(test::stories15m_path());
  EXPECT_EQ(m.config.describe(), "dim 288, hidden 768, 6 layers, 6 heads (6 kv), vocab 32000, context 256");
  EXPECT_TRUE(m.config.shared_classifier);
  EXPECT_EQ(m.weights.classifier.data, m.weights.token_embedding.data);
  EXPECT_EQ(m.parameter_count(), 15191712u);  // the "15M" of stories15M
  // The first and last weights land where run.c finds them (offset 28, then the RoPE tables end the file).
  float first;
  const std::vector<uint8_t> bytes = test::read_bytes(test::stories15m_path());
  std::memcpy(&first, &bytes[28], 4);
  EXPECT_EQ(m.weights.token_embedding.data[0], first);
  const uint64_t rope_bytes = 2ull * 256 * 24 * 4;
  float last_norm;
  std::memcpy(&last_norm, &bytes[bytes.size() - rope_bytes - 4], 4);
  EXPECT_EQ(m.weights.rms_final.data[287], last_norm);
}

TEST(ModelFiles, Llama2cRoundTripsRealModel) {
  const test::TempDir dir;
  const Model m = model::load_model(test::stories15m_path());
  for (int version : {0, 1}) {
    SCOPED_TRACE("version " + std::to_string(version));
    const std::string path = dir.file("v" + std::to_string(version) + ".bin");
    model::write_llama2c(m, path, version);
    const Model back = model::load_model(path);
    expect_identical(m, back);
    if (version == 0) {
      EXPECT_EQ(test::read_bytes(path).size(), test::read_bytes(test::stories15m_path()).size());
    }
  }
}

TEST(ModelFiles, SeparateClassifierAndGroupedQueryAttentionRoundTrip) {
  const test::TempDir dir;
  const Model m = test::synthetic_model(test::tiny_config(false), 7);
  const model::Tokenizer tok = test::byte_tokenizer(m.config.vocab_size);
  const std::vector<std::string> paths = {dir.file("v0.bin"), dir.file("v1.bin"), dir.file("f32.gguf")};
  model::write_llama2c(m, paths[0], 0);
  model::write_llama2c(m, paths[1], 1);
  model::write_gguf(m, tok, paths[2], model::GgmlType::F32);
  for (const auto& path : paths) {
    SCOPED_TRACE(path);
    const Model back = model::load_model(path);
    EXPECT_FALSE(back.config.shared_classifier);
    EXPECT_NE(back.weights.classifier.data, back.weights.token_embedding.data);
    expect_identical(m, back);
  }
}

TEST(ModelFiles, GgufRealModelF32IsExactF16IsRounded) {
  const test::TempDir dir;
  const Model m = model::load_model(test::stories15m_path());
  const model::Tokenizer tok = model::load_tokenizer_for(m, "");
  const std::vector<uint32_t> prompt = tok.encode("Once upon a time", true, false);
  const std::vector<uint32_t> reference = greedy_tokens(m, prompt, 200);

  model::write_gguf(m, tok, dir.file("f32.gguf"), model::GgmlType::F32);
  const Model f32 = model::load_model(dir.file("f32.gguf"));
  expect_identical(m, f32);
  EXPECT_TRUE(f32.config.shared_classifier);  // no output.weight written: tied, as llama.cpp reads it
  EXPECT_EQ(greedy_tokens(f32, prompt, 200), reference);
  // The embedded vocabulary is the default tokenizer of a GGUF model.
  EXPECT_EQ(model::load_tokenizer_for(f32, "").encode("Once upon a time", true, false), prompt);

  model::write_gguf(m, tok, dir.file("f16.gguf"), model::GgmlType::F16);
  const Model f16 = model::load_model(dir.file("f16.gguf"));
  expect_same_config(m.config, f16.config);
  for (const auto& [name, pair] : tensor_pairs(m, f16)) {
    const bool is_norm = pair.first.rows == 1;  // norms stay F32
    for (size_t i = 0; i < pair.first.span().size(); ++i)
      ASSERT_EQ(pair.second.data[i], is_norm ? pair.first.data[i] : round_to_half(pair.first.data[i]))
          << name << " " << i;
  }
  // fp16 weights keep the greedy story: the first 50 tokens agree exactly.
  const std::vector<uint32_t> half = greedy_tokens(f16, prompt, 50);
  EXPECT_EQ(half, std::vector<uint32_t>(reference.begin(), reference.begin() + 50));
}

TEST(ModelFiles, GgufMetadataIsWhatLlamaCppReads) {
  const test::TempDir dir;
  const Model m = test::synthetic_model(test::tiny_config(), 3);
  model::write_gguf(m, test::byte_tokenizer(m.config.vocab_size), dir.file("m.gguf"), model::GgmlType::F16);
  const model::GgufFile g(dir.file("m.gguf"));
  EXPECT_EQ(g.version(), 3u);
  EXPECT_EQ(g.get_string("general.architecture"), "llama");
  EXPECT_EQ(g.get_uint("general.file_type"), 1u);
  EXPECT_EQ(g.get_uint("llama.embedding_length"), 64u);
  EXPECT_EQ(g.get_uint("llama.feed_forward_length"), 96u);
  EXPECT_EQ(g.get_uint("llama.block_count"), 2u);
  EXPECT_EQ(g.get_uint("llama.attention.head_count"), 4u);
  EXPECT_EQ(g.get_uint("llama.attention.head_count_kv"), 2u);
  EXPECT_EQ(g.get_uint("llama.context_length"), 48u);
  EXPECT_EQ(g.get_uint("llama.rope.dimension_count"), 16u);
  EXPECT_EQ(g.get_float("llama.rope.freq_base", 0.0f), 10000.0f);
  EXPECT_EQ(g.get_float("llama.attention.layer_norm_rms_epsilon", 0.0f), 1e-5f);
  EXPECT_EQ(g.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ(g.get_uint("tokenizer.ggml.bos_token_id"), 1u);
  EXPECT_EQ(g.get_uint("tokenizer.ggml.eos_token_id"), 2u);
  const model::GgufTensor* q = g.find_tensor("blk.1.attn_k.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->dims, (std::vector<uint64_t>{64, 32}));  // ne[0] = columns
  EXPECT_EQ(q->type, uint32_t(model::GgmlType::F16));
  EXPECT_EQ(g.find_tensor("blk.0.attn_norm.weight")->type, uint32_t(model::GgmlType::F32));
  EXPECT_EQ(g.find_tensor("output.weight"), nullptr);
  for (const auto& t : g.tensors()) EXPECT_EQ(t.offset % 32, 0u) << t.name;
}

TEST(ModelFiles, MissingFileIsNamed) {
  const std::string path = "/nonexistent/bitlens/model.bin";
  test::expect_file_error([&] { model::load_model(path); }, path, "cannot open");
}

TEST(ModelFiles, BadLlama2cCheckpointsGiveOneClearError) {
  const test::TempDir dir;
  const Model m = test::synthetic_model(test::tiny_config(false), 5);
  model::write_llama2c(m, dir.file("v0.bin"), 0);
  model::write_llama2c(m, dir.file("v1.bin"), 1);
  const std::vector<uint8_t> v0 = test::read_bytes(dir.file("v0.bin")), v1 = test::read_bytes(dir.file("v1.bin"));
  auto check = [&](const std::string& name, std::vector<uint8_t> bytes, const std::string& problem) {
    SCOPED_TRACE(name);
    const std::string path = dir.file(name);
    test::write_bytes(path, bytes);
    test::expect_file_error([&] { model::load_model(path); }, path, problem);
  };
  auto truncated = v0;
  truncated.resize(v0.size() / 2);
  check("truncated_v0.bin", truncated, "truncated");
  truncated = v1;
  truncated.resize(v1.size() - 1);
  check("truncated_v1.bin", truncated, "truncated");
  check("tiny.bin", {1, 2, 3}, "too small");
  auto bad = v0;
  test::poke<int32_t>(bad, 0, -288);
  check("negative_dim.bin", bad, "header field dim is -288");
  bad = v0;
  test::poke<int32_t>(bad, 12, 5);  // 5 heads do not divide dim 64
  check("bad_heads.bin", bad, "n_heads 5 does not divide dim");
  bad = v0;
  test::poke<int32_t>(bad, 20, 1 << 30);  // a huge vocabulary must not be allocated
  check("huge_vocab.bin", bad, "vocab_size");
  bad = v0;
  test::poke<int32_t>(bad, 24, 1 << 19);  // seq_len grows the expected size past the file
  check("long_context.bin", bad, "implies");
  bad = v1;
  test::poke<int32_t>(bad, 4, 2);
  check("version2.bin", bad, "version 2 is not supported");
  bad = v1;
  bad[36] = 7;
  check("bad_flag.bin", bad, "shared classifier flag is 7");
}

TEST(ModelFiles, BadGgufFilesGiveOneClearError) {
  const test::TempDir dir;
  const Model m = test::synthetic_model(test::tiny_config(), 9);
  model::write_gguf(m, test::byte_tokenizer(m.config.vocab_size), dir.file("good.gguf"), model::GgmlType::F32);
  const std::vector<uint8_t> good = test::read_bytes(dir.file("good.gguf"));
  auto check = [&](const std::string& name, std::vector<uint8_t> bytes, const std::string& problem) {
    SCOPED_TRACE(name);
    const std::string path = dir.file(name);
    test::write_bytes(path, bytes);
    test::expect_file_error([&] { model::load_model(path); }, path, problem);
  };
  auto bad = good;
  test::poke<uint32_t>(bad, 4, 7);
  check("version7.gguf", bad, "GGUF version 7 is not supported");
  bad = good;
  bad.resize(good.size() - 100);
  check("truncated_data.gguf", bad, "outside the file");
  bad = good;
  bad.resize(1000);
  check("truncated_metadata.gguf", bad, "truncated");
  bad = good;
  test::poke<uint64_t>(bad, 8, uint64_t(1) << 40);  // tensor count
  check("tensor_count.gguf", bad, "cannot fit");
  bad = good;
  test::poke<uint64_t>(bad, 24, uint64_t(1) << 40);  // the first key's length
  check("key_length.gguf", bad, "past the end of the file");
  const TensorInfoAt q = find_tensor_info(good, "blk.0.attn_q.weight");
  bad = good;
  test::poke<uint32_t>(bad, q.type, 12);
  check("q4k.gguf", bad, "tensor blk.0.attn_q.weight has type Q4_K: only F32 and F16 tensors are supported");
  bad = good;
  test::poke<uint64_t>(bad, q.offset, uint64_t(1) << 50);
  check("offset_past_end.gguf", bad, "tensor blk.0.attn_q.weight offset");
  bad = good;
  test::poke<uint64_t>(bad, q.offset, 32 * 1000003ull);
  check("offset_outside.gguf", bad, "past the end of the file");
  bad = good;
  test::poke<uint64_t>(bad, q.offset, 4);
  check("offset_unaligned.gguf", bad, "is not aligned to 32");
  // A shape that does not match the hyper-parameters.
  bad = good;
  const TensorInfoAt k = find_tensor_info(good, "blk.0.attn_k.weight");
  test::poke<uint64_t>(bad, k.type - 8, 16);
  check("bad_shape.gguf", bad, "tensor blk.0.attn_k.weight has dimensions 64x16, expected 64x32");
  // A required key and a tensor under other names.
  auto renamed = [&](const std::string& from, const std::string& to) {
    std::vector<uint8_t> b = good;
    auto at = std::search(b.begin(), b.end(), from.begin(), from.end());
    EXPECT_NE(at, b.end()) << from;
    std::memcpy(&*at, to.data(), to.size());
    return b;
  };
  check("no_block_count.gguf", renamed("llama.block_count", "llama.block_kount"),
        "metadata key llama.block_count is missing");
  check("no_ffn_up.gguf", renamed("blk.1.ffn_up.weight", "blk.1.ffn_up.weighx"), "tensor blk.1.ffn_up.weight is missing");
  // Another architecture.
  bad = good;
  const std::string llama = "llama";
  auto it = std::search(bad.begin(), bad.end(), llama.begin(), llama.end());
  std::memcpy(&*it, "gemma", 5);
  check("gemma.gguf", bad, "architecture \"gemma\" is not supported");
}
