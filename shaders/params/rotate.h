// Push constants of the Hadamard rotation and copy kernels (shared by C++ and GLSL).
#ifndef BITLENS_PARAMS_ROTATE_H
#define BITLENS_PARAMS_ROTATE_H

#ifdef __cplusplus
#include <cstdint>
namespace bitlens::kernels {
using uint = uint32_t;
#endif

// Randomized Hadamard rotation of `rows` rows of width n = m * 2^k, in place or into the same rows
// of a destination (written, or with accumulate added to): forward x <- H (S x) / sqrt(n), inverse
// x <- S H^T x / sqrt(n). Several parts (workgroup y) can be
// rotated at once, part j's rows starting j * part_stride floats further with the sign vector
// j * part_sign_words words further.
struct RotateParams {
  uint n;          // row width
  uint m;          // odd Hadamard factor: 1, 12, 20, 28 or 36
  uint log2_p;     // k, with p = 2^k
  uint rows;       // rows to rotate
  uint offset;     // first float of row 0
  uint stride;     // floats between rows
  float scale;     // 1 / sqrt(n)
  uint use_signs;  // 1: multiply by the random sign vector (first, or last for the inverse)
  uint inverse;    // 1: the inverse rotation
  uint part_stride;      // floats between the rows of consecutive parts
  uint part_sign_words;  // words between the sign vectors of consecutive parts
  uint accumulate;       // 1: add the rotated rows to the destination's rows instead of writing them
};


#ifdef __cplusplus
static_assert(sizeof(RotateParams) == 48);
}  // namespace bitlens::kernels
#endif

#endif
