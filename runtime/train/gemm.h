// fp32 matrix products for training (forward, input gradients, weight gradients), multi-threaded and
// deterministic: every element of C is summed by one thread in a fixed order of k, so results do
// not depend on the thread count.
#pragma once

#include <cstddef>

namespace bitlens::train {

// C[M x N] (+)= A[M x K] * B[K x N]; all row-major with leading dimensions lda, ldb, ldc.
void gemm(size_t M, size_t N, size_t K, const float* A, size_t lda, const float* B, size_t ldb, float* C,
          size_t ldc, bool accumulate);

// C[M x N] (+)= A[M x K] * B[N x K]^T (B stored row-major [N x K], e.g. a weight [out x in]).
void gemm_nt(size_t M, size_t N, size_t K, const float* A, const float* B, float* C, bool accumulate);

// C[M x N] (+)= A[K x M]^T * B[K x N] (e.g. a weight gradient dY^T X over K tokens).
void gemm_tn(size_t M, size_t N, size_t K, const float* A, const float* B, float* C, bool accumulate);

// dst[cols x rows] = src[rows x cols]^T.
void transpose(const float* src, size_t rows, size_t cols, float* dst);

}  // namespace bitlens::train
