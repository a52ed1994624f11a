// Dense symmetric positive-definite algebra in double precision for the calibration-based
// quantizers (GPTQ, OBS saliency, PTQ1.61 refinement). Matrices are row-major n x n.
#pragma once

#include <cstdint>
#include <vector>

namespace bitlens::quant {

// H + damp * mean(diag H) * I; a zero diagonal entry (a dead input channel) becomes 1 so that the
// matrix stays positive definite (GPTQ's convention).
std::vector<double> damped(const std::vector<double>& h, uint32_t n, double damp);

// Lower Cholesky factor L (A = L L^T); throws Error if A is not positive definite.
std::vector<double> cholesky_lower(const std::vector<double>& a, uint32_t n);

// A^-1 for symmetric positive-definite A.
std::vector<double> inverse_spd(const std::vector<double>& a, uint32_t n);

// Upper Cholesky factor U of A^-1 (A^-1 = U^T U), as GPTQ uses it.
std::vector<double> upper_cholesky_of_inverse(const std::vector<double>& a, uint32_t n);

}  // namespace bitlens::quant
