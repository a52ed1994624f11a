// Blocked fp32 GEMM: C is cut into tiles of kMB x kNB, one task each; a task walks K in slices of
// kKB, packs the slice of op(B) into panels of kNR columns (transposing on the way if asked) and
// runs a register-blocked kMR x kNR micro-kernel over it, reading op(A) in place. Written with
// GCC/Clang vector extensions so that the compiler emits the widest vectors the target has.
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

// acc[mr x kNR] += op(A)[mr rows, kc] * panel[kc x kNR]; rows beyond mr repeat the last row and are
// not stored, columns beyond nr are zero in the panel and are not stored. A points at op(A)[0][0].
template <bool TransA>
void micro_kernel(size_t mr, size_t nr, size_t kc, const float* A, size_t lda, const float* panel, float* C,
                  size_t ldc, bool load_c) {
  vec acc[kMR][2] = {};
  if constexpr (TransA) {
    size_t idx[kMR];
    for (size_t i = 0; i < kMR; ++i) idx[i] = std::min(i, mr - 1);
    for (size_t k = 0; k < kc; ++k) {
      const vec b0 = load(panel + k * kNR), b1 = load(panel + k * kNR + kVW);
      const float* ak = A + k * lda;
      for (size_t i = 0; i < kMR; ++i) {
        const float ai = ak[idx[i]];
        acc[i][0] += ai * b0;
        acc[i][1] += ai * b1;
      }
    }
  } else {
    const float* a[kMR];
    for (size_t i = 0; i < kMR; ++i) a[i] = A + std::min(i, mr - 1) * lda;
    for (size_t k = 0; k < kc; ++k) {
      const vec b0 = load(panel + k * kNR), b1 = load(panel + k * kNR + kVW);
      for (size_t i = 0; i < kMR; ++i) {
        const float ai = a[i][k];
        acc[i][0] += ai * b0;
        acc[i][1] += ai * b1;
      }
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

// Packs op(B)[k0:k0+kc, n0:n0+nc] into panels of kNR columns, zero-padded: pack[p][k][kNR].
void pack_b(bool trans_b, const float* B, size_t ldb, size_t k0, size_t kc, size_t n0, size_t nc, float* pack) {
  for (size_t p = 0; p * kNR < nc; ++p) {
    const size_t j0 = n0 + p * kNR, nr = std::min(kNR, nc - p * kNR);
    float* dst = pack + p * kc * kNR;
    if (trans_b) {
      for (size_t j = 0; j < kNR; ++j) {
        if (j < nr) {
          const float* src = B + (j0 + j) * ldb + k0;
          for (size_t k = 0; k < kc; ++k) dst[k * kNR + j] = src[k];
        } else {
          for (size_t k = 0; k < kc; ++k) dst[k * kNR + j] = 0.0f;
        }
      }
    } else {
      for (size_t k = 0; k < kc; ++k) {
        const float* src = B + (k0 + k) * ldb + j0;
        float* d = dst + k * kNR;
        std::memcpy(d, src, nr * sizeof(float));
        std::fill(d + nr, d + kNR, 0.0f);
      }
    }
  }
}

struct Operands {
  bool trans_a, trans_b;
  size_t K;
  const float* A;
  size_t lda;
  const float* B;
  size_t ldb;
  float* C;
  size_t ldc;
  bool accumulate;
};

void gemm_tile(const Operands& o, size_t m0, size_t mc, size_t n0, size_t nc) {
  thread_local std::vector<float> pack;  // keeps its capacity: no allocation per tile
  pack.resize(kKB * kNB);
  for (size_t k0 = 0; k0 < o.K; k0 += kKB) {
    const size_t kc = std::min(kKB, o.K - k0);
    pack_b(o.trans_b, o.B, o.ldb, k0, kc, n0, nc, pack.data());
    const bool load_c = o.accumulate || k0 > 0;
    for (size_t i = 0; i < mc; i += kMR) {
      const size_t mr = std::min(kMR, mc - i);
      const float* a = o.trans_a ? o.A + k0 * o.lda + (m0 + i) : o.A + (m0 + i) * o.lda + k0;
      for (size_t p = 0; p * kNR < nc; ++p) {
        float* c = o.C + (m0 + i) * o.ldc + n0 + p * kNR;
        const float* panel = pack.data() + p * kc * kNR;
        const size_t nr = std::min(kNR, nc - p * kNR);
        if (o.trans_a) micro_kernel<true>(mr, nr, kc, a, o.lda, panel, c, o.ldc, load_c);
        else micro_kernel<false>(mr, nr, kc, a, o.lda, panel, c, o.ldc, load_c);
      }
    }
  }
}

}  // namespace

void gemm(bool trans_a, bool trans_b, size_t M, size_t N, size_t K, const float* A, size_t lda, const float* B,
          size_t ldb, float* C, size_t ldc, bool accumulate) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate)
      for (size_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
    return;
  }
  const Operands o{trans_a, trans_b, K, A, lda, B, ldb, C, ldc, accumulate};
  const size_t mt = (M + kMB - 1) / kMB, nt = (N + kNB - 1) / kNB;
  parallel_for(mt * nt, [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t) {
      const size_t m0 = (t / nt) * kMB, n0 = (t % nt) * kNB;
      gemm_tile(o, m0, std::min(kMB, M - m0), n0, std::min(kNB, N - n0));
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

}  // namespace bitlens::train
