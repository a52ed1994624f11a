// Attention kernels (split pass + combine pass) against model::attention, for one query (decode)
// (in one pass, or split over positions when the context exceeds one split) and for batches of
// consecutive causal queries (counts not a multiple of the 8 queries of a workgroup), with
// grouped-query heads, head_dim not a multiple of 4, and head widths up to 256. Cache rows past the last query's position
// hold NaN, so any read past the causal limit fails; the output is poisoned around its rows.
// Tolerance: |out - ref| <= 2e-5 * max_t |v_t| per element (softmax weights sum to one; scores
// and sums are accumulated in fp32 in another order than the reference).
// The decode kernel fused with the rotary embedding (attention_rope) against model::rope followed
// by model::attention: raw q, k, v in one buffer (NaN around them), cache rows from the query's
// position on NaN (the kernel must score its own position from q/k/v, not the cache); the output,
// and the cache row it writes (rotated k within 1e-6 of its magnitude, v exact, padding zero).
// Both with an fp16 cache too: the references then see keys and values rounded to fp16 (to
// nearest even, common/fp16.h) and the written row must hold them within one half ulp (1e-3 of
// their magnitude); the output tolerance is the same.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"
#include "common/fp16.h"
#include "gpu_test.h"
#include "kernels/attention.h"
#include "model/cpu_ops.h"
#include "op_test_util.h"

using namespace bitlens;
using kernels::KvPrecision;

namespace {

// The contents of one layer's keys or values in the cache's layout and precision, NaN where unset.
class CacheImage {
 public:
  explicit CacheImage(const kernels::KvCache& cache)
      : f16_(cache.precision() == KvPrecision::F16), row_(cache.shape().n_kv_heads * cache.head_elements()),
        head_(cache.head_elements()), floats_(f16_ ? 0 : size_t(cache.seq_len()) * row_, std::nanf("")),
        halves_(f16_ ? size_t(cache.seq_len()) * row_ : 0, uint16_t(0x7e00)) {}
  void set(uint32_t t, uint32_t h, uint32_t d, float v) {
    const size_t i = size_t(t) * row_ + h * head_ + d;
    if (f16_) halves_[i] = float_to_half(v);
    else floats_[i] = v;
  }
  float get(uint32_t t, uint32_t h, uint32_t d) const {
    const size_t i = size_t(t) * row_ + h * head_ + d;
    return f16_ ? half_to_float(halves_[i]) : floats_[i];
  }
  // Keys or values of rows [0, rows) from a [rows x kv_dim] array, padding zero.
  void fill(std::span<const float> rows, uint32_t n_rows, const kernels::HeadShape& s) {
    for (uint32_t t = 0; t < n_rows; ++t)
      for (uint32_t h = 0; h < s.n_kv_heads; ++h)
        for (uint32_t d = 0; d < head_; ++d)
          set(t, h, d, d < s.head_dim ? rows[size_t(t) * s.n_kv_heads * s.head_dim + h * s.head_dim + d] : 0.0f);
  }
  void upload(vk::Buffer& b) const {
    if (f16_) b.upload(halves_.data(), halves_.size() * 2);
    else b.upload(floats_.data(), floats_.size() * 4);
  }
  void download(const vk::Buffer& b) {
    if (f16_) b.download(halves_.data(), halves_.size() * 2);
    else b.download(floats_.data(), floats_.size() * 4);
  }

 private:
  bool f16_;
  uint32_t row_, head_;
  std::vector<float> floats_;
  std::vector<uint16_t> halves_;
};

// The values as an fp16 cache holds them (or as they are).
std::vector<float> as_cached(std::vector<float> v, KvPrecision p) {
  if (p == KvPrecision::F16)
    for (float& x : v) x = round_to_half(x);
  return v;
}

struct Case {
  kernels::HeadShape shape;
  uint32_t seq_len, pos0, n;
  KvPrecision precision = KvPrecision::F32;
};

class AttentionKernel : public test::GpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(AttentionKernel, MatchesCpuReference) {
  const Case c = GetParam();
  const auto& s = c.shape;
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const uint32_t dim = s.n_heads * s.head_dim, kv_dim = s.n_kv_heads * s.head_dim;
  const uint32_t filled = c.pos0 + c.n;  // cache rows holding keys and values
  const auto keys = as_cached(test::random_normal(size_t(filled) * kv_dim, seed), c.precision);
  const auto values = as_cached(test::random_normal(size_t(filled) * kv_dim, seed + 1), c.precision);
  const auto q = test::random_normal(size_t(c.n) * dim, seed + 2);

  kernels::KvCache cache(gpu(), s, c.seq_len, 1, c.precision);
  CacheImage kc(cache), vc(cache);
  kc.fill(keys, filled, s);
  vc.fill(values, filled, s);
  kc.upload(cache.keys(0));
  vc.upload(cache.values(0));

  const uint32_t q_off = 4, q_stride = dim + 6, out_off = 8, out_stride = dim + 2;
  std::vector<float> qd(q_off + size_t(c.n) * q_stride, std::nanf(""));
  for (uint32_t t = 0; t < c.n; ++t) std::memcpy(&qd[q_off + t * q_stride], &q[size_t(t) * dim], dim * 4);
  vk::Buffer qb(ctx(), qd.size() * 4);
  qb.upload(qd.data(), qd.size() * 4);
  vk::Buffer out = test::poisoned_buffer(ctx(), out_off + size_t(c.n) * out_stride + 8);
  vk::Buffer step = test::step_buffer(ctx(), c.pos0);
  kernels::AttentionScratch scratch(gpu(), s, c.seq_len);
  EXPECT_EQ(scratch.n_splits() > 1, c.seq_len > 256);
  kernels::Attention att(gpu(), cache, 0, scratch, qb, step, out);
  vk::CommandBuffer cmd(ctx());
  att.record(cmd, {c.n, q_off, q_stride, out_off, out_stride});
  cmd.submit_and_wait();
  const auto got = test::download_floats(out);

  float vmax = 0;
  for (float v : values) vmax = std::max(vmax, std::abs(v));
  std::vector<float> ref(dim), scratch_ref(c.seq_len);
  for (uint32_t t = 0; t < c.n; ++t) {
    model::attention(ref, std::span<const float>(q).subspan(size_t(t) * dim, dim), keys, values, c.pos0 + t,
                     s.n_heads, s.n_kv_heads, s.head_dim, scratch_ref);
    for (uint32_t i = 0; i < dim; ++i)
      ASSERT_NEAR(got[out_off + t * out_stride + i], ref[i], 2e-5 * vmax) << "query " << t << " element " << i;
  }
  for (size_t i = 0; i < got.size(); ++i) {
    const bool inside = i >= out_off && (i - out_off) / out_stride < c.n && (i - out_off) % out_stride < dim;
    if (inside) continue;
    ASSERT_TRUE(test::is_poison(got[i])) << "attention wrote outside its rows at " << i;
  }
}

const Case kCases[] = {{{6, 6, 48}, 256, 0, 1},    {{6, 6, 48}, 256, 200, 1},   {{6, 6, 48}, 256, 0, 64},
                       {{6, 6, 48}, 256, 100, 37},  {{4, 2, 6}, 100, 0, 1},      {{4, 2, 6}, 100, 30, 40},
                       {{3, 1, 10}, 1100, 900, 5},  {{3, 1, 10}, 1100, 1099, 1}, {{2, 2, 128}, 64, 63, 1},
                       {{8, 2, 256}, 130, 65, 3},   {{4, 2, 6}, 600, 250, 40},   {{4, 2, 6}, 600, 599, 1},
                       {{2, 1, 64}, 8192, 5000, 2},
                       // fp16 cache: heads of whole texels, with padding (6, 10, 36), split and batched
                       {{6, 6, 48}, 256, 200, 1, KvPrecision::F16}, {{6, 6, 48}, 256, 100, 37, KvPrecision::F16},
                       {{4, 2, 6}, 600, 250, 40, KvPrecision::F16}, {{3, 1, 10}, 1100, 1099, 1, KvPrecision::F16},
                       {{2, 2, 36}, 64, 40, 9, KvPrecision::F16},   {{8, 2, 256}, 130, 65, 3, KvPrecision::F16}};

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionKernel, ::testing::ValuesIn(kCases), [](const auto& info) {
  const Case& c = info.param;
  return "h" + std::to_string(c.shape.n_heads) + "_kv" + std::to_string(c.shape.n_kv_heads) + "_d" +
         std::to_string(c.shape.head_dim) + "_ctx" + std::to_string(c.seq_len) + "_pos" + std::to_string(c.pos0) +
         "_n" + std::to_string(c.n) + (c.precision == KvPrecision::F16 ? "_f16" : "");
});

struct RopeCase {
  kernels::HeadShape shape;
  uint32_t seq_len, pos;
  KvPrecision precision = KvPrecision::F32;
};

class AttentionRopeKernel : public test::GpuTest, public ::testing::WithParamInterface<RopeCase> {};

TEST_P(AttentionRopeKernel, MatchesRopeThenAttention) {
  const RopeCase c = GetParam();
  const auto& s = c.shape;
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const float theta = 10000.0f;
  const uint32_t dim = s.n_heads * s.head_dim, kv_dim = s.n_kv_heads * s.head_dim;
  std::vector<float> keys = test::random_normal(size_t(c.pos + 1) * kv_dim, seed);
  const std::vector<float> values_raw = test::random_normal(keys.size(), seed + 1);
  const std::vector<float> values = as_cached(values_raw, c.precision);
  const auto q = test::random_normal(dim, seed + 2);
  // Raw q, k, v of the new token: k and v are the last rows of keys and values before rotation.
  const std::vector<float> k_raw(keys.end() - kv_dim, keys.end());
  std::vector<float> q_rot = q;
  model::rope(q_rot, c.pos, s.head_dim, theta);
  model::rope(std::span<float>(keys).subspan(size_t(c.pos) * kv_dim), c.pos, s.head_dim, theta);
  keys = as_cached(keys, c.precision);

  kernels::KvCache cache(gpu(), s, c.seq_len, 1, c.precision);
  CacheImage kc(cache), vc(cache);
  kc.fill(keys, c.pos, s);
  vc.fill(values, c.pos, s);
  kc.upload(cache.keys(0));
  vc.upload(cache.values(0));

  const uint32_t q_off = 4, k_off = q_off + dim + 2, v_off = k_off + kv_dim + 6, out_off = 8;
  std::vector<float> qkv(v_off + kv_dim + 4, std::nanf(""));
  std::copy(q.begin(), q.end(), qkv.begin() + q_off);
  std::copy(k_raw.begin(), k_raw.end(), qkv.begin() + k_off);
  std::copy(values_raw.end() - kv_dim, values_raw.end(), qkv.begin() + v_off);
  vk::Buffer qb(ctx(), qkv.size() * 4);
  qb.upload(qkv.data(), qkv.size() * 4);
  vk::Buffer out = test::poisoned_buffer(ctx(), out_off + dim + 8);
  vk::Buffer step = test::step_buffer(ctx(), c.pos);
  kernels::AttentionScratch scratch(gpu(), s, c.seq_len);
  kernels::RopeTable table(gpu(), s.head_dim, c.seq_len, theta);
  kernels::Attention att(gpu(), cache, 0, scratch, qb, step, out, &table);
  vk::CommandBuffer cmd(ctx());
  att.record(cmd, {1, q_off, 0, out_off, 0, true, k_off, v_off});
  cmd.submit_and_wait();
  const auto got = test::download_floats(out);

  float vmax = 0, kmax = 0;
  for (float v : values) vmax = std::max(vmax, std::abs(v));
  for (float k : keys) kmax = std::max(kmax, std::abs(k));
  std::vector<float> ref(dim), scratch_ref(c.seq_len);
  model::attention(ref, q_rot, keys, values, c.pos, s.n_heads, s.n_kv_heads, s.head_dim, scratch_ref);
  for (uint32_t i = 0; i < dim; ++i) ASSERT_NEAR(got[out_off + i], ref[i], 2e-5 * vmax) << "element " << i;
  for (size_t i = 0; i < got.size(); ++i)
    if (i < out_off || i >= out_off + dim) {
      ASSERT_TRUE(test::is_poison(got[i])) << "written outside the output at " << i;
    }
  kc.download(cache.keys(0));
  vc.download(cache.values(0));
  const bool f16 = c.precision == KvPrecision::F16;
  // Padding: the fp32 head's whole vec4s are written; the fp16 head's last texel may keep a tail.
  const uint32_t written = f16 ? s.head_vec4s() * 4 : cache.head_elements();
  for (uint32_t h = 0; h < s.n_kv_heads; ++h)
    for (uint32_t d = 0; d < written; ++d) {
      const size_t i = size_t(c.pos) * kv_dim + h * s.head_dim + d;
      ASSERT_NEAR(kc.get(c.pos, h, d), d < s.head_dim ? keys[i] : 0.0f, (f16 ? 1e-3 : 1e-6) * kmax)
          << "key head " << h << " element " << d;
      if (f16) {
        ASSERT_NEAR(vc.get(c.pos, h, d), d < s.head_dim ? values[i] : 0.0f, 1e-3 * vmax) << "value head " << h << " element " << d;
      } else {
        ASSERT_EQ(vc.get(c.pos, h, d), d < s.head_dim ? values[i] : 0.0f) << "value head " << h << " element " << d;
      }
    }
  // Rows past the position are untouched (still NaN).
  if (c.pos + 1 < c.seq_len) {
    ASSERT_TRUE(std::isnan(kc.get(c.pos + 1, 0, 0)));
  }
}

const RopeCase kRopeCases[] = {{{6, 6, 48}, 256, 0},   {{6, 6, 48}, 256, 200}, {{4, 2, 6}, 100, 57},
                               {{3, 1, 10}, 1100, 1099}, {{3, 1, 10}, 1100, 256}, {{8, 2, 256}, 130, 65},
                               {{2, 2, 128}, 600, 300},
                               {{6, 6, 48}, 256, 200, KvPrecision::F16}, {{4, 2, 6}, 100, 57, KvPrecision::F16},
                               {{3, 1, 10}, 1100, 1099, KvPrecision::F16}, {{2, 2, 36}, 64, 0, KvPrecision::F16}};

INSTANTIATE_TEST_SUITE_P(Shapes, AttentionRopeKernel, ::testing::ValuesIn(kRopeCases), [](const auto& info) {
  const RopeCase& c = info.param;
  return "h" + std::to_string(c.shape.n_heads) + "_kv" + std::to_string(c.shape.n_kv_heads) + "_d" +
         std::to_string(c.shape.head_dim) + "_ctx" + std::to_string(c.seq_len) + "_pos" + std::to_string(c.pos) +
         (c.precision == KvPrecision::F16 ? "_f16" : "");
});

class AttentionArgs : public test::GpuTest {};

TEST_F(AttentionArgs, RefusesSmallBuffers) {
  const kernels::HeadShape s{2, 2, 8};
  kernels::KvCache cache(gpu(), s, 16, 1);
  kernels::AttentionScratch scratch(gpu(), s, 16);
  vk::Buffer q(ctx(), 64 * 4), out(ctx(), 16 * 4), step = test::step_buffer(ctx(), 0);
  kernels::Attention att(gpu(), cache, 0, scratch, q, step, out);
  vk::CommandBuffer cmd(ctx());
  EXPECT_THROW(att.record(cmd, {5, 0, 16, 0, 16}), Error);  // the queries do not fit
  EXPECT_THROW(att.record(cmd, {2, 0, 16, 0, 16}), Error);  // the output holds one query
  EXPECT_THROW(att.record(cmd, {1, 0, 16, 0, 16, true, 16, 32}), Error);  // no rope table bound
  kernels::RopeTable table(gpu(), 8, 16, 10000.0f);
  kernels::Attention fused(gpu(), cache, 0, scratch, q, step, out, &table);
  EXPECT_THROW(fused.record(cmd, {2, 0, 16, 0, 16, true, 16, 32}), Error);  // one query only
  EXPECT_THROW(fused.record(cmd, {1, 0, 16, 0, 16, true, 16, 60}), Error);  // v past the buffer
}

}  // namespace
