// Blocked fp32 GEMM: C is cut into tiles of kMB x kNB, one task each; a task walks K in slices of
// kKB, packs the slice of B into panels of kNR columns and runs a register-blocked kMR x kNR
// micro-kernel over it. Written with GCC/Clang vector extensions so that the compiler emits the
// widest vectors the target has.
#include "train/gemm.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/parallel.h"

namespace bitlens::train {

namespace {

#if defined(__AVX512F__)
constexpr size_t kVW = 16;
#else
constexpr size_t kVW = 8;
#endif
typedef float vec __attribute__((vector_size(kVW * sizeof(float))));

constexpr size_t kMR = 6;         // rows of C per micro-kernel
constexpr size_t kNR = 2 * kVW;   // columns of C per micro-kernel
constexpr size_t kMB = 16 * kMR;  // rows of C per task
constexpr size_t kNB = 4 * kNR;   // columns of C per task
constexpr size_t kKB = 256;       // depth of one packed slice of B

inline vec load(const float* p) {
  vec v;
  std::memcpy(&v, p, sizeof(vec));
  return v;
}
inline void store(float* p, vec v) { std::memcpy(p, &v, sizeof(vec)); }

// acc[mr x kNR] += A[mr rows, kc] * panel[kc x kNR]; rows beyond mr repeat the last row and are not
// stored, columns beyond nr are zero in the panel and are not stored.
void micro_kernel(size_t mr, size_t nr, size_t kc, const float* A, size_t lda, const float* panel, float* C,
                  size_t ldc, bool load_c) {
  const float* a[kMR];
  for (size_t i = 0; i < kMR; ++i) a[i] = A + std::min(i, mr - 1) * lda;
  vec acc[kMR][2] = {};
  for (size_t k = 0; k < kc; ++k) {
    const vec b0 = load(panel + k * kNR), b1 = load(panel + k * kNR + kVW);
    for (size_t i = 0; i < kMR; ++i) {
      const float ai = a[i][k];
      acc[i][0] += ai * b0;
      acc[i][1] += ai * b1;
    }
  }
  for (size_t i = 0; i < mr; ++i) {
    float* c = C + i * ldc;
    if (nr == kNR) {
      if (load_c) {
        acc[i][0] += load(c);
        acc[i][1] += load(c + kVW);
      }
      store(c, acc[i][0]);
      store(c + kVW, acc[i][1]);
    } else {
      float tmp[kNR];
      store(tmp, acc[i][0]);
      store(tmp + kVW, acc[i][1]);
      for (size_t j = 0; j < nr; ++j) c[j] = (load_c ? c[j] : 0.0f) + tmp[j];
    }
  }
}

// Packs B[k0:k0+kc, n0:n0+nc] into panels of kNR columns, zero-padded: pack[p][k][kNR].
void pack_b(const float* B, size_t ldb, size_t k0, size_t kc, size_t n0, size_t nc, float* pack) {
  for (size_t p = 0; p * kNR < nc; ++p) {
    const size_t j0 = n0 + p * kNR, nr = std::min(kNR, nc - p * kNR);
    float* dst = pack + p * kc * kNR;
    for (size_t k = 0; k < kc; ++k) {
      const float* src = B + (k0 + k) * ldb + j0;
      float* d = dst + k * kNR;
      std::memcpy(d, src, nr * sizeof(float));
      std::fill(d + nr, d + kNR, 0.0f);
    }
  }
}

void gemm_tile(size_t m0, size_t mc, size_t n0, size_t nc, size_t K, const float* A, size_t lda, const float* B,
               size_t ldb, float* C, size_t ldc, bool accumulate) {
  thread_local std::vector<float> pack;
  pack.resize(kKB * kNB);
  for (size_t k0 = 0; k0 < K; k0 += kKB) {
    const size_t kc = std::min(kKB, K - k0);
    pack_b(B, ldb, k0, kc, n0, nc, pack.data());
    const bool load_c = accumulate || k0 > 0;
    for (size_t i = 0; i < mc; i += kMR)
      for (size_t p = 0; p * kNR < nc; ++p)
        micro_kernel(std::min(kMR, mc - i), std::min(kNR, nc - p * kNR), kc, A + (m0 + i) * lda + k0, lda,
                     pack.data() + p * kc * kNR, C + (m0 + i) * ldc + n0 + p * kNR, ldc, load_c);
  }
}

}  // namespace

void gemm(size_t M, size_t N, size_t K, const float* A, size_t lda, const float* B, size_t ldb, float* C,
          size_t ldc, bool accumulate) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate)
      for (size_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
    return;
  }
  const size_t mt = (M + kMB - 1) / kMB, nt = (N + kNB - 1) / kNB;
  parallel_for(mt * nt, [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t) {
      const size_t m0 = (t / nt) * kMB, n0 = (t % nt) * kNB;
      gemm_tile(m0, std::min(kMB, M - m0), n0, std::min(kNB, N - n0), K, A, lda, B, ldb, C, ldc, accumulate);
    }
  });
}

void transpose(const float* src, size_t rows, size_t cols, float* dst) {
  constexpr size_t kT = 32;
  const size_t rt = (rows + kT - 1) / kT;
  parallel_for(rt, [&](size_t b0, size_t b1) {
    for (size_t r0 = b0 * kT; r0 < std::min(rows, b1 * kT); r0 += kT)
      for (size_t c0 = 0; c0 < cols; c0 += kT)
        for (size_t r = r0; r < std::min(rows, r0 + kT); ++r)
          for (size_t c = c0; c < std::min(cols, c0 + kT); ++c) dst[c * rows + r] = src[r * cols + c];
  });
}

void gemm_nt(size_t M, size_t N, size_t K, const float* A, const float* B, float* C, bool accumulate) {
  std::vector<float> bt(N * K);
  transpose(B, N, K, bt.data());
  gemm(M, N, K, A, K, bt.data(), N, C, N, accumulate);
}

void gemm_tn(size_t M, size_t N, size_t K, const float* A, const float* B, float* C, bool accumulate) {
  std::vector<float> at(M * K);
  transpose(A, K, M, at.data());
  gemm(M, N, K, at.data(), K, B, N, C, N, accumulate);
}

}  // namespace bitlens::train
