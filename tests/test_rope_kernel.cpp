// Rotary-embedding + KV-cache-write kernel against model::rope on fresh random q/k/v rows, for
// head shapes with head_dim not a multiple of 4 and grouped-query attention, for a batch of tokens
// at consecutive positions read from the step buffer. The cache is poisoned: the written rows must
// hold rope(k) and v with zero padding, every other row must stay poisoned; k, v and everything
// around q in the q/k/v buffer must stay untouched.
// Tolerance: 1e-6 * (|v0| + |v1|) per rotated element (same fp32 angle table as the reference,
// only the rounding of the two products may differ); copies exactly. With an fp16 cache the cached
// keys and values may also differ by their rounding to fp16: 1e-3 of their magnitude more, and at
// least 2^-24 (the step of the subnormal halves).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "common/error.h"
#include "common/fp16.h"
#include "gpu_test.h"
#include "kernels/matmul.h"
#include "kernels/rope.h"
#include "model/cpu_ops.h"
#include "op_test_util.h"

using namespace bitlens;

namespace {

struct Case {
  kernels::HeadShape shape;
  uint32_t seq_len, pos0, n;
  kernels::KvPrecision precision = kernels::KvPrecision::F32;
};

std::vector<uint32_t> download_words(const vk::Buffer& b) {
  std::vector<uint32_t> w(b.size() / 4);
  b.download(w.data(), w.size() * 4);
  return w;
}

class RopeKernel : public test::GpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(RopeKernel, MatchesCpuReference) {
  const Case c = GetParam();
  const auto& s = c.shape;
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const float theta = 10000.0f;
  const uint32_t dim = s.n_heads * s.head_dim, kv_dim = s.n_kv_heads * s.head_dim;
  const uint32_t q_off = 4, k_off = q_off + kernels::activation_stride(dim), v_off = k_off + kernels::activation_stride(kv_dim);
  const uint32_t stride = v_off + kernels::activation_stride(kv_dim) + 2;
  std::vector<float> qkv(size_t(c.n) * stride + 8);
  for (auto& v : qkv) std::memcpy(&v, &test::kPoison, 4);
  const auto q = test::random_normal(size_t(c.n) * dim, seed), k = test::random_normal(size_t(c.n) * kv_dim, seed + 1),
             v = test::random_normal(size_t(c.n) * kv_dim, seed + 2);
  for (uint32_t t = 0; t < c.n; ++t) {
    std::memcpy(&qkv[q_off + t * stride], &q[size_t(t) * dim], dim * 4);
    std::memcpy(&qkv[k_off + t * stride], &k[size_t(t) * kv_dim], kv_dim * 4);
    std::memcpy(&qkv[v_off + t * stride], &v[size_t(t) * kv_dim], kv_dim * 4);
  }
  vk::Buffer qkv_buf(ctx(), qkv.size() * 4);
  qkv_buf.upload(qkv.data(), qkv.size() * 4);
  kernels::KvCache cache(gpu(), s, c.seq_len, 2, c.precision);
  for (uint32_t l = 0; l < 2; ++l) {
    cache.keys(l).fill(test::kPoison);
    cache.values(l).fill(test::kPoison);
  }
  vk::Buffer step = test::step_buffer(ctx(), c.pos0);
  kernels::RopeTable table(gpu(), s.head_dim, c.seq_len, theta);
  kernels::Rope rope(gpu(), table, cache, 1, qkv_buf, step);
  vk::CommandBuffer cmd(ctx());
  rope.record(cmd, {c.n, q_off, k_off, v_off, stride});
  cmd.submit_and_wait();

  const auto got = test::download_floats(qkv_buf);
  const auto keys = download_words(cache.keys(1)), values = download_words(cache.values(1));
  const bool f16 = c.precision == kernels::KvPrecision::F16;
  const uint32_t hp = cache.head_elements(), row = s.n_kv_heads * hp;  // elements
  auto element = [&](const std::vector<uint32_t>& w, size_t i) {
    if (f16) return half_to_float(uint16_t(w[i / 2] >> (16 * (i % 2))));
    float f;
    std::memcpy(&f, &w[i], 4);
    return f;
  };
  for (uint32_t t = 0; t < c.n; ++t) {
    const uint32_t pos = c.pos0 + t;
    std::vector<float> qr(q.begin() + size_t(t) * dim, q.begin() + size_t(t + 1) * dim);
    std::vector<float> kr(k.begin() + size_t(t) * kv_dim, k.begin() + size_t(t + 1) * kv_dim);
    model::rope(qr, pos, s.head_dim, theta);
    model::rope(kr, pos, s.head_dim, theta);
    const auto q_in = std::span<const float>(q).subspan(size_t(t) * dim, dim);
    const auto k_in = std::span<const float>(k).subspan(size_t(t) * kv_dim, kv_dim);
    auto tol = [](std::span<const float> src, size_t i) {
      const size_t p = i & ~size_t(1);
      return 1e-6 * (std::abs(src[p]) + std::abs(src[p + 1]));
    };
    for (uint32_t i = 0; i < dim; ++i)
      ASSERT_NEAR(got[q_off + t * stride + i], qr[i], tol(q_in, i))
          << "q token " << t << " i " << i;
    for (uint32_t h = 0; h < s.n_kv_heads; ++h)
      for (uint32_t d = 0; d < hp; ++d) {
        const size_t ci = size_t(pos) * row + h * hp + d;
        if (d >= s.head_dim) {
          ASSERT_EQ(element(keys, ci), 0.0f) << "key padding";
          ASSERT_EQ(element(values, ci), 0.0f) << "value padding";
          continue;
        }
        const size_t i = h * s.head_dim + d;
        const float vi = v[size_t(t) * kv_dim + i];
        const double half_step = 0x1p-24;  // subnormal halves are this far apart
        ASSERT_NEAR(element(keys, ci), kr[i], tol(k_in, i) + (f16 ? 1e-3 * std::abs(kr[i]) + half_step : 0.0))
            << "key token " << t << " head " << h << " d " << d;
        if (f16) {
          ASSERT_NEAR(element(values, ci), vi, 1e-3 * std::abs(vi) + half_step)
              << "value token " << t << " head " << h << " d " << d;
        } else {
          ASSERT_EQ(element(values, ci), vi) << "value token " << t << " head " << h << " d " << d;
        }
      }
  }
  const size_t row_words = row * (f16 ? 2 : 4) / 4;
  for (size_t i = 0; i < keys.size(); ++i) {
    const size_t pos = i / row_words;
    if (pos >= c.pos0 && pos < c.pos0 + c.n) continue;
    ASSERT_TRUE(keys[i] == test::kPoison && values[i] == test::kPoison) << "cache written at position " << pos;
  }
  for (size_t i = 0; i < got.size(); ++i) {
    const bool q_part = i >= q_off && (i - q_off) / stride < c.n && (i - q_off) % stride < dim;
    if (q_part) continue;
    uint32_t a, b;
    std::memcpy(&a, &got[i], 4);
    std::memcpy(&b, &qkv[i], 4);
    ASSERT_EQ(a, b) << "rope wrote outside q at " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, RopeKernel,
    ::testing::Values(Case{{6, 6, 48}, 256, 0, 1}, Case{{6, 6, 48}, 256, 255, 1}, Case{{6, 6, 48}, 256, 17, 9},
                      Case{{4, 2, 6}, 20, 3, 5}, Case{{3, 1, 10}, 40, 38, 2}, Case{{2, 2, 128}, 64, 60, 4},
                      Case{{2, 1, 2}, 8, 0, 8}, Case{{6, 6, 48}, 256, 17, 9, kernels::KvPrecision::F16},
                      Case{{4, 2, 6}, 20, 3, 5, kernels::KvPrecision::F16},
                      Case{{3, 1, 10}, 40, 38, 2, kernels::KvPrecision::F16},
                      Case{{2, 1, 2}, 8, 0, 8, kernels::KvPrecision::F16}),
    [](const auto& info) {
      const Case& c = info.param;
      return "h" + std::to_string(c.shape.n_heads) + "_kv" + std::to_string(c.shape.n_kv_heads) + "_d" +
             std::to_string(c.shape.head_dim) + "_pos" + std::to_string(c.pos0) + "_n" + std::to_string(c.n) +
             (c.precision == kernels::KvPrecision::F16 ? "_f16" : "");
    });

class RopeArgs : public test::GpuTest {};

TEST_F(RopeArgs, RefusesBadShapesAndLayouts) {
  EXPECT_THROW(kernels::KvCache(gpu(), {4, 3, 8}, 16, 1), UnsupportedError);  // kv heads do not divide heads
  EXPECT_THROW(kernels::KvCache(gpu(), {4, 4, 7}, 16, 1), UnsupportedError);  // odd head width
  EXPECT_THROW(kernels::KvCache(gpu(), {1, 1, 258}, 16, 1), UnsupportedError);
  kernels::KvCache cache(gpu(), {2, 2, 8}, 16, 1);
  kernels::RopeTable table(gpu(), 8, 16, 10000.0f);
  EXPECT_THROW(kernels::Rope(gpu(), kernels::RopeTable(gpu(), 6, 16, 1e4f), cache, 0, cache.keys(0), cache.keys(0)),
               Error);  // table for another head width
  vk::Buffer qkv(ctx(), 64 * 4), step = test::step_buffer(ctx(), 0);
  kernels::Rope rope(gpu(), table, cache, 0, qkv, step);
  vk::CommandBuffer cmd(ctx());
  EXPECT_THROW(rope.record(cmd, {1, 1, 16, 32, 48}), Error);  // odd offset
  EXPECT_THROW(rope.record(cmd, {2, 0, 16, 32, 48}), Error);  // second token past the buffer
}

}  // namespace
