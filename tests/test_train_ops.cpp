// Training ops: the GEMM against a double-precision product, forwards against model/cpu_ops.h, and
// every backward against central finite differences on fresh random inputs.
#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "grad_check.h"
#include "gpu_test.h"
#include "model/cpu_ops.h"
#include "train/gemm.h"
#include "train/ops.h"

using namespace bitlens;
using namespace bitlens::train;

namespace {

std::vector<float> randn(size_t n, uint64_t seed, float sd = 1.0f) { return test::random_normal(n, seed, sd); }

}  // namespace

TEST(TrainGemm, MatchesDoublePrecisionOnRaggedShapes) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  struct Case {
    size_t m, n, k;
  };
  for (const Case c : {Case{1, 1, 1}, Case{7, 33, 5}, Case{97, 65, 300}, Case{200, 130, 257}, Case{5, 300, 1}}) {
    const auto a = randn(c.m * c.k, seed), b = randn(c.k * c.n, seed + 1), c0 = randn(c.m * c.n, seed + 2);
    for (bool acc : {false, true}) {
      std::vector<float> out = c0;
      gemm_nn(c.m, c.n, c.k, a.data(), b.data(), out.data(), acc);
      for (size_t i = 0; i < c.m; ++i)
        for (size_t j = 0; j < c.n; ++j) {
          double s = acc ? c0[i * c.n + j] : 0.0, mag = std::abs(s);
          for (size_t k = 0; k < c.k; ++k) {
            s += double(a[i * c.k + k]) * b[k * c.n + j];
            mag += std::abs(double(a[i * c.k + k]) * b[k * c.n + j]);
          }
          // fp32 accumulation over k terms: a few ulps of the sum of magnitudes.
          ASSERT_NEAR(out[i * c.n + j], s, 1e-6 * mag + 1e-6) << c.m << "x" << c.n << "x" << c.k << " at " << i << "," << j;
        }
    }
  }
}

TEST(TrainGemm, TransposedVariantsMatchGemm) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const size_t m = 37, n = 50, k = 70;
  const auto a = randn(m * k, seed), bt = randn(n * k, seed + 1), at = randn(k * m, seed + 2), b = randn(k * n, seed + 3);
  std::vector<float> b_from_bt(k * n), a_from_at(m * k), ref(m * n), out(m * n);
  transpose(bt.data(), n, k, b_from_bt.data());
  transpose(at.data(), k, m, a_from_at.data());
  gemm_nn(m, n, k, a.data(), b_from_bt.data(), ref.data(), false);
  gemm_nt(m, n, k, a.data(), bt.data(), out.data(), false);
  EXPECT_EQ(out, ref);  // the same products in the same order
  gemm_nn(m, n, k, a_from_at.data(), b.data(), ref.data(), false);
  gemm_tn(m, n, k, at.data(), b.data(), out.data(), false);
  EXPECT_EQ(out, ref);
  // Strided operands: a sub-block of larger matrices, both transposed.
  const size_t ld = 101;
  const auto big_a = randn(k * ld, seed + 4), big_b = randn(n * ld, seed + 5);
  std::vector<float> c_big(m * ld, 3.0f), sub_a(k * m), sub_b(n * k);
  for (size_t r = 0; r < k; ++r)
    for (size_t c = 0; c < m; ++c) sub_a[r * m + c] = big_a[r * ld + 7 + c];
  for (size_t r = 0; r < n; ++r)
    for (size_t c = 0; c < k; ++c) sub_b[r * k + c] = big_b[r * ld + 3 + c];
  std::vector<float> at_sub(m * k), bt_sub(k * n);
  transpose(sub_a.data(), k, m, at_sub.data());
  transpose(sub_b.data(), n, k, bt_sub.data());
  gemm_nn(m, n, k, at_sub.data(), bt_sub.data(), ref.data(), false);
  gemm(true, true, m, n, k, big_a.data() + 7, ld, big_b.data() + 3, ld, c_big.data() + 2, ld, false);
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < ld; ++j)
      ASSERT_EQ(c_big[i * ld + j], j >= 2 && j < 2 + n ? ref[i * n + j - 2] : 3.0f) << i << "," << j;
}

TEST(TrainOps, RmsnormForwardMatchesCpuOpsAndBackwardMatchesFiniteDifferences) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const size_t T = 5, dim = 48;
  auto x = randn(T * dim, seed, 2.0f);
  const auto w = randn(dim, seed + 1), r = randn(T * dim, seed + 2);
  std::vector<float> y(T * dim), inv(T), ref(dim), dx(T * dim);
  rmsnorm_forward(x.data(), w.data(), T, dim, 1e-5f, y.data(), inv.data());
  for (size_t t = 0; t < T; ++t) {
    model::rmsnorm(ref, {&x[t * dim], dim}, w, 1e-5f);
    for (size_t i = 0; i < dim; ++i) ASSERT_EQ(y[t * dim + i], ref[i]);
  }
  rmsnorm_backward(x.data(), w.data(), inv.data(), r.data(), T, dim, dx.data());
  test::check_gradient(x, dx, [&] {
    rmsnorm_forward(x.data(), w.data(), T, dim, 1e-5f, y.data(), inv.data());
    return test::weighted_sum(y, r);
  }, 1e-2f, 2e-3, seed, "rmsnorm dx");
}

TEST(TrainOps, RopeMatchesCpuOpsAndItsBackwardIsTheInverseRotation) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const size_t seq = 9, head_dim = 16, width = 64;
  const BatchShape shape{2, seq};
  auto x = randn(shape.tokens() * width, seed);
  const auto r = randn(x.size(), seed + 1);
  const RopeTable rope(seq, head_dim, 10000.0f);
  std::vector<float> y = x;
  rope.apply(y.data(), shape, width, false);
  for (size_t t = 0; t < shape.tokens(); ++t) {
    std::vector<float> ref(&x[t * width], &x[(t + 1) * width]);
    model::rope(ref, uint32_t(t % seq), head_dim, 10000.0f);
    for (size_t i = 0; i < width; ++i) ASSERT_EQ(y[t * width + i], ref[i]) << "token " << t;
  }
  // Linear in x, so the gradient of sum r . rope(x) is rope^T r = the inverse rotation of r.
  std::vector<float> dx = r;
  rope.apply(dx.data(), shape, width, true);
  test::check_gradient(x, dx, [&] {
    y = x;
    rope.apply(y.data(), shape, width, false);
    return test::weighted_sum(y, r);
  }, 0.5f, 1e-4, seed, "rope dx");
}

TEST(TrainOps, AttentionForwardMatchesCpuOps) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const AttentionShape a{4, 2, 8};
  const BatchShape shape{2, 11};
  const size_t qw = a.n_heads * a.head_dim, kw = a.n_kv_heads * a.head_dim;
  const auto q = randn(shape.tokens() * qw, seed), k = randn(shape.tokens() * kw, seed + 1),
             v = randn(shape.tokens() * kw, seed + 2);
  std::vector<float> probs(shape.n_seq * a.n_heads * shape.seq_len * shape.seq_len), out(shape.tokens() * qw);
  attention_forward(q.data(), k.data(), v.data(), shape, a, probs.data(), out.data());
  std::vector<float> ref(qw), scratch(shape.seq_len);
  for (size_t s = 0; s < shape.n_seq; ++s)
    for (size_t i = 0; i < shape.seq_len; ++i) {
      const size_t t = s * shape.seq_len + i;
      model::attention(ref, {&q[t * qw], qw}, {&k[s * shape.seq_len * kw], shape.seq_len * kw},
                       {&v[s * shape.seq_len * kw], shape.seq_len * kw}, uint32_t(i), uint32_t(a.n_heads),
                       uint32_t(a.n_kv_heads), uint32_t(a.head_dim), scratch);
      for (size_t j = 0; j < qw; ++j) ASSERT_NEAR(out[t * qw + j], ref[j], 1e-5f) << "token " << t;
    }
}

TEST(TrainOps, AttentionBackwardMatchesFiniteDifferences) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const AttentionShape a{4, 2, 8};  // grouped-query: two query heads per kv head
  const BatchShape shape{2, 7};
  const size_t qw = a.n_heads * a.head_dim, kw = a.n_kv_heads * a.head_dim;
  auto q = randn(shape.tokens() * qw, seed), k = randn(shape.tokens() * kw, seed + 1),
       v = randn(shape.tokens() * kw, seed + 2);
  const auto r = randn(shape.tokens() * qw, seed + 3);
  std::vector<float> probs(shape.n_seq * a.n_heads * shape.seq_len * shape.seq_len), out(shape.tokens() * qw);
  std::vector<float> dq(q.size()), dk(k.size()), dv(v.size());
  attention_forward(q.data(), k.data(), v.data(), shape, a, probs.data(), out.data());
  attention_backward(q.data(), k.data(), v.data(), probs.data(), r.data(), shape, a, dq.data(), dk.data(), dv.data());
  const auto loss = [&] {
    attention_forward(q.data(), k.data(), v.data(), shape, a, probs.data(), out.data());
    return test::weighted_sum(out, r);
  };
  test::check_gradient(q, dq, loss, 1e-2f, 3e-3, seed, "attention dq");
  test::check_gradient(k, dk, loss, 1e-2f, 3e-3, seed + 1, "attention dk");
  test::check_gradient(v, dv, loss, 1e-2f, 1e-3, seed + 2, "attention dv");
}

TEST(TrainOps, SwigluMatchesCpuOpsAndBackwardMatchesFiniteDifferences) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const size_t n = 300;
  auto g = randn(n, seed, 2.0f), u = randn(n, seed + 1);
  const auto r = randn(n, seed + 2);
  std::vector<float> y(n), dg(n), du(n), ref = g;
  swiglu_forward(g.data(), u.data(), n, y.data());
  model::swiglu(ref, u);
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(y[i], ref[i]);
  swiglu_backward(g.data(), u.data(), r.data(), n, dg.data(), du.data());
  const auto loss = [&] {
    swiglu_forward(g.data(), u.data(), n, y.data());
    return test::weighted_sum(y, r);
  };
  test::check_gradient(g, dg, loss, 1e-2f, 2e-3, seed, "swiglu dgate");
  test::check_gradient(u, du, loss, 0.5f, 1e-4, seed + 1, "swiglu dup");  // linear in up
}

TEST(TrainOps, LinearBackwardMatchesFiniteDifferences) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const size_t T = 13, in = 40, out = 24;
  auto x = randn(T * in, seed), w = randn(out * in, seed + 1, 0.2f);
  const auto r = randn(T * out, seed + 2);
  std::vector<float> y(T * out), dx(T * in, 5.0f), dw(out * in, 7.0f), ref(out);
  linear_forward(x.data(), w.data(), T, in, out, y.data());
  for (size_t t = 0; t < T; ++t) {
    model::matvec(ref, {w.data(), uint32_t(out), uint32_t(in)}, {&x[t * in], in});
    for (size_t o = 0; o < out; ++o) ASSERT_NEAR(y[t * out + o], ref[o], 1e-5f);
  }
  linear_backward(x.data(), w.data(), r.data(), T, in, out, dx.data(), false, dw.data(), false);
  const auto loss = [&] {
    linear_forward(x.data(), w.data(), T, in, out, y.data());
    return test::weighted_sum(y, r);
  };
  // The loss is linear in x and in w: a large step has no truncation error.
  test::check_gradient(x, dx, loss, 0.5f, 1e-4, seed, "linear dx");
  test::check_gradient(w, dw, loss, 0.5f, 1e-4, seed + 1, "linear dw");
  // Accumulating adds to what is there.
  std::vector<float> dx2(T * in, 1.0f);
  linear_backward(x.data(), w.data(), r.data(), T, in, out, dx2.data(), true, nullptr, false);
  for (size_t i = 0; i < dx.size(); ++i) ASSERT_NEAR(dx2[i], dx[i] + 1.0f, 1e-5f);
}

TEST(TrainOps, CrossEntropyMatchesLogSoftmaxAndBackwardMatchesFiniteDifferences) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const size_t n = 6, vocab = 50;
  auto logits = randn(n * vocab, seed, 3.0f);
  std::vector<uint32_t> targets(n);
  for (size_t i = 0; i < n; ++i) targets[i] = uint32_t((seed >> (i * 5)) % vocab);
  std::vector<float> d(n * vocab);
  const double nll = cross_entropy(logits.data(), targets, vocab, d.data(), 1.0f);
  double ref = 0.0;
  for (size_t i = 0; i < n; ++i) {
    std::vector<float> p(&logits[i * vocab], &logits[(i + 1) * vocab]);
    model::softmax(p);
    ref -= std::log(double(p[targets[i]]));
  }
  EXPECT_NEAR(nll, ref, 1e-4 * ref);
  test::check_gradient(logits, d, [&] { return cross_entropy(logits.data(), targets, vocab, nullptr, 1.0f); }, 1e-2f,
                       1e-3, seed, "cross-entropy dlogits");
  EXPECT_THROW(cross_entropy(logits.data(), std::vector<uint32_t>{uint32_t(vocab)}, vocab, nullptr, 1.0f), Error);
}
