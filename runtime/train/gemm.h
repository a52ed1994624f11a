// fp32 matrix products for training (forward, input gradients, weight gradients), multi-threaded and
// deterministic: every element of C is summed by one thread in a fixed order of k, so results do
// not depend on the thread count. Called from inside a parallel_for job, a product runs on that
// job's thread.
#pragma once

#include <cstddef>

namespace bitlens::train {

// C[M x N] (+)= op(A) op(B), all row-major with leading dimensions lda, ldb, ldc. op(A) [M x K] is A
// stored [M x K], or with trans_a its transpose stored [K x M]; op(B) [K x N] is B stored [K x N],
// or with trans_b its transpose stored [N x K].
void gemm(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, const float* A, size_t lda, const float* B,
          size_t ldb, float* C, size_t ldc, bool accumulate);

// Dense shorthands. C = A B; C = A B^T (B [N x K], e.g. a weight [out x in]); C = A^T B (A [K x M],
// e.g. a weight gradient dY^T X over K tokens).
inline void gemm_nn(size_t M, size_t N, size_t K, const float* A, const float* B, float* C, bool accumulate) {
  gemm(false, false, M, N, K, A, K, B, N, C, N, accumulate);
}
inline void gemm_nt(size_t M, size_t N, size_t K, const float* A, const float* B, float* C, bool accumulate) {
  gemm(false, true, M, N, K, A, K, B, K, C, N, accumulate);
}
inline void gemm_tn(size_t M, size_t N, size_t K, const float* A, const float* B, float* C, bool accumulate) {
  gemm(true, false, M, N, K, A, M, B, N, C, N, accumulate);
}

// dst[cols x rows] = src[rows x cols]^T.
void transpose(const float* src, size_t rows, size_t cols, float* dst);

}  // namespace bitlens::train
