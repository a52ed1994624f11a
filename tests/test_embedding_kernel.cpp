// Embedding lookup kernel against quant::dequantize of the packed table, for every format and
// group size, on tables whose vocabulary is not a multiple of the 8-row tile and whose width is
// not a multiple of the 32-column chunk; outputs poisoned, padding and margins must stay poisoned.
// Tolerance: 1e-6 * (|scale * q| + |offset|) per element (the kernel may fuse scale * q - offset
// into one FMA); float formats exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "common/error.h"
#include "gpu_test.h"
#include "kernels/embedding.h"
#include "kernels/matmul.h"
#include "op_test_util.h"
#include "quant/lowbit_bench_weights.h"
#include "quant/packing.h"

using namespace bitlens;
using namespace bitlens::quant;

namespace {

struct Case {
  Format format;
  uint32_t group;
  uint32_t vocab, dim;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  std::string s = format_info(c.format).name;
  if (c.group) s += "g" + std::to_string(c.group);
  return s + "_" + std::to_string(c.vocab) + "x" + std::to_string(c.dim);
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const auto& f : all_formats()) {
    if (f.kind == FormatKind::LowBit) continue;  // tables are float or group formats: RefusesLowBitTables
    for (uint32_t g : f.grouped ? supported_group_sizes() : std::vector<uint32_t>{0})
      for (auto [vocab, dim] : {std::pair{37u, 100u}, std::pair{300u, 288u}, std::pair{9u, 6u}})
        cases.push_back({f.format, g, vocab, dim});
  }
  return cases;
}

class EmbeddingKernel : public test::GpuTest, public ::testing::WithParamInterface<Case> {};
class EmbeddingKernelRefusal : public test::GpuTest {};

TEST_P(EmbeddingKernel, MatchesDequantizedRows) {
  const Case c = GetParam();
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const auto w = test::random_normal(size_t(c.vocab) * c.dim, seed, 0.1f);
  PackedMatrix packed;
  std::vector<float> tol(w.size(), 0.0f);
  if (format_info(c.format).grouped) {
    const QuantizedMatrix q = quantize_rtn(w, c.vocab, c.dim, format_info(c.format).bits, c.group);
    packed = pack(q);
    for (uint32_t r = 0; r < c.vocab; ++r)
      for (uint32_t k = 0; k < c.dim; ++k) {
        const QParams p = q.params(r, k / c.group);
        tol[size_t(r) * c.dim + k] = 1e-6f * (std::abs(p.scale * q.codes[size_t(r) * c.dim + k]) + std::abs(p.offset));
      }
  } else {
    packed = pack_float(w, c.vocab, c.dim, c.format);
  }
  const std::vector<float> ref = dequantize(packed);
  kernels::GpuMatrix table(gpu(), packed);

  // Token ids at offset 3 of the id buffer; the first and last rows are always looked up.
  const std::vector<uint32_t> ids = {0, 7 % c.vocab, c.vocab - 1, uint32_t(seed % c.vocab), 5 % c.vocab};
  std::vector<uint32_t> id_words(3, 0);
  id_words.insert(id_words.end(), ids.begin(), ids.end());
  vk::Buffer tokens(ctx(), id_words.size() * 4);
  tokens.upload(id_words.data(), id_words.size() * 4);
  const uint32_t n = uint32_t(ids.size()), offset = 8, stride = kernels::activation_stride(c.dim) + 4;
  vk::Buffer out = test::poisoned_buffer(ctx(), offset + size_t(n) * stride + 16);

  kernels::EmbeddingLookup lookup(gpu(), table, tokens, out);
  vk::CommandBuffer cmd(ctx());
  lookup.record(cmd, {n, 3, offset, stride});
  cmd.submit_and_wait();
  const auto got = test::download_floats(out);
  for (size_t i = 0; i < got.size(); ++i) {
    const bool inside = i >= offset && (i - offset) / stride < n && (i - offset) % stride < c.dim;
    if (!inside) {
      ASSERT_TRUE(test::is_poison(got[i])) << "lookup wrote outside its rows at " << i;
      continue;
    }
    const uint32_t t = uint32_t((i - offset) / stride), k = uint32_t((i - offset) % stride);
    const size_t ri = size_t(ids[t]) * c.dim + k;
    ASSERT_NEAR(got[i], ref[ri], tol[ri]) << "token " << t << " (id " << ids[t] << ") column " << k;
  }
}

TEST_F(EmbeddingKernelRefusal, RefusesLowBitTables) {
  const vk::Buffer tokens(ctx(), 64), out(ctx(), 4096);
  for (Format f : {Format::Mixed, Format::Ptq161, Format::Ternary, Format::TritPlane}) {
    const kernels::GpuMatrix table(gpu(), lowbit_bench_weights(f, 16, 64));
    EXPECT_THROW(kernels::EmbeddingLookup(gpu(), table, tokens, out), UnsupportedError) << format_info(f).name;
  }
}

INSTANTIATE_TEST_SUITE_P(AllFormats, EmbeddingKernel, ::testing::ValuesIn(all_cases()), case_name);

class EmbeddingArgs : public test::GpuTest {};

TEST_F(EmbeddingArgs, RefusesBuffersThatAreTooSmall) {
  const auto w = test::random_normal(16 * 64, 1);
  kernels::GpuMatrix table(gpu(), pack_float(w, 16, 64, Format::F32));
  vk::Buffer tokens(ctx(), 4 * 4), out(ctx(), 64 * 4 * 2);
  kernels::EmbeddingLookup lookup(gpu(), table, tokens, out);
  vk::CommandBuffer cmd(ctx());
  EXPECT_THROW(lookup.record(cmd, {3}), Error);        // three rows do not fit in out
  EXPECT_THROW(lookup.record(cmd, {2, 3}), Error);     // ids 3..4 lie past the id buffer
  EXPECT_THROW(lookup.record(cmd, {1, 0, 0, 32}), Error);  // stride smaller than a row
}

}  // namespace
