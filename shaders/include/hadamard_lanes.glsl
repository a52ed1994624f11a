// Randomized Hadamard rotation of one row held in registers by eight lanes of a subgroup: the
// core of hadamard_rows.comp, shared with the mat-vec kernels that rotate their own input
// (matvec.comp, X_ROTATE). Forward x <- H (S x) * scale, inverse x <- S H^T x * scale, H = H_m (x)
// H_p, n = m * p, p = 2^k (docs/METHODS.md section 4).
//
// Layout: lane l (0..7) holds R = n / (8 W) slots of W consecutive elements; slot r holds elements
// 8 W r + W l + c (c < W). The bits of an index are then: c (inside a slot), l (across lanes:
// subgroup shuffles), and r (across slots: registers). Needs p >= 8 W, so that c and l lie inside
// the power-of-two factor; then slot r = a * RB + rb, with RB = p / (8 W) slots per row of the
// m x p view. H_m (or its transpose, for the inverse) arrives as specialization constants 8-79, so
// its +-1 entries fold into additions and subtractions.
//
// Before including: define W (4 or 1); declare the specialization constants M and LOG2_RB
// (log2(p / (8 W))) and a uniform block holding `uvec4 sign_words[64]` (bit i set: element i
// negated, from word sign_base on); define HAD_LOAD(r) (slot r of the calling lane) and
// HAD_STORE(r, v).
#ifndef HADAMARD_LANES_GLSL
#define HADAMARD_LANES_GLSL

// Row a of H_m (or of H_m^T) as 2 words of sign bits (bit a2 set: entry -1).
layout(constant_id = 8) const uint H0 = 0u; layout(constant_id = 9) const uint H1 = 0u; layout(constant_id = 10) const uint H2 = 0u;
layout(constant_id = 11) const uint H3 = 0u; layout(constant_id = 12) const uint H4 = 0u; layout(constant_id = 13) const uint H5 = 0u;
layout(constant_id = 14) const uint H6 = 0u; layout(constant_id = 15) const uint H7 = 0u; layout(constant_id = 16) const uint H8 = 0u;
layout(constant_id = 17) const uint H9 = 0u; layout(constant_id = 18) const uint H10 = 0u; layout(constant_id = 19) const uint H11 = 0u;
layout(constant_id = 20) const uint H12 = 0u; layout(constant_id = 21) const uint H13 = 0u; layout(constant_id = 22) const uint H14 = 0u;
layout(constant_id = 23) const uint H15 = 0u; layout(constant_id = 24) const uint H16 = 0u; layout(constant_id = 25) const uint H17 = 0u;
layout(constant_id = 26) const uint H18 = 0u; layout(constant_id = 27) const uint H19 = 0u; layout(constant_id = 28) const uint H20 = 0u;
layout(constant_id = 29) const uint H21 = 0u; layout(constant_id = 30) const uint H22 = 0u; layout(constant_id = 31) const uint H23 = 0u;
layout(constant_id = 32) const uint H24 = 0u; layout(constant_id = 33) const uint H25 = 0u; layout(constant_id = 34) const uint H26 = 0u;
layout(constant_id = 35) const uint H27 = 0u; layout(constant_id = 36) const uint H28 = 0u; layout(constant_id = 37) const uint H29 = 0u;
layout(constant_id = 38) const uint H30 = 0u; layout(constant_id = 39) const uint H31 = 0u; layout(constant_id = 40) const uint H32 = 0u;
layout(constant_id = 41) const uint H33 = 0u; layout(constant_id = 42) const uint H34 = 0u; layout(constant_id = 43) const uint H35 = 0u;
layout(constant_id = 44) const uint H36 = 0u; layout(constant_id = 45) const uint H37 = 0u; layout(constant_id = 46) const uint H38 = 0u;
layout(constant_id = 47) const uint H39 = 0u; layout(constant_id = 48) const uint H40 = 0u; layout(constant_id = 49) const uint H41 = 0u;
layout(constant_id = 50) const uint H42 = 0u; layout(constant_id = 51) const uint H43 = 0u; layout(constant_id = 52) const uint H44 = 0u;
layout(constant_id = 53) const uint H45 = 0u; layout(constant_id = 54) const uint H46 = 0u; layout(constant_id = 55) const uint H47 = 0u;
layout(constant_id = 56) const uint H48 = 0u; layout(constant_id = 57) const uint H49 = 0u; layout(constant_id = 58) const uint H50 = 0u;
layout(constant_id = 59) const uint H51 = 0u; layout(constant_id = 60) const uint H52 = 0u; layout(constant_id = 61) const uint H53 = 0u;
layout(constant_id = 62) const uint H54 = 0u; layout(constant_id = 63) const uint H55 = 0u; layout(constant_id = 64) const uint H56 = 0u;
layout(constant_id = 65) const uint H57 = 0u; layout(constant_id = 66) const uint H58 = 0u; layout(constant_id = 67) const uint H59 = 0u;
layout(constant_id = 68) const uint H60 = 0u; layout(constant_id = 69) const uint H61 = 0u; layout(constant_id = 70) const uint H62 = 0u;
layout(constant_id = 71) const uint H63 = 0u; layout(constant_id = 72) const uint H64 = 0u; layout(constant_id = 73) const uint H65 = 0u;
layout(constant_id = 74) const uint H66 = 0u; layout(constant_id = 75) const uint H67 = 0u; layout(constant_id = 76) const uint H68 = 0u;
layout(constant_id = 77) const uint H69 = 0u; layout(constant_id = 78) const uint H70 = 0u; layout(constant_id = 79) const uint H71 = 0u;

#if W == 4
#define VEC vec4
#else
#define VEC float
#endif

const uint RB = 1u << LOG2_RB;            // slots per row of the m x p view
const uint R = M * RB;                    // slots per lane
const uint LOG2_B1 = LOG2_RB < 3u ? LOG2_RB : 3u;  // slot bits done while loading
const uint B1 = 1u << LOG2_B1;
const uint LOG2_B2 = LOG2_RB - LOG2_B1;   // slot bits done before H_m
const uint B2 = 1u << LOG2_B2;

bool hm_negative(uint a, uint a2) {
  const uint hm[72] = uint[](H0, H1, H2, H3, H4, H5, H6, H7, H8, H9, H10, H11, H12, H13, H14, H15, H16, H17,
      H18, H19, H20, H21, H22, H23, H24, H25, H26, H27, H28, H29, H30, H31, H32, H33, H34, H35, H36, H37, H38,
      H39, H40, H41, H42, H43, H44, H45, H46, H47, H48, H49, H50, H51, H52, H53, H54, H55, H56, H57, H58, H59,
      H60, H61, H62, H63, H64, H65, H66, H67, H68, H69, H70, H71);
  return ((hm[2 * a + a2 / 32] >> (a2 % 32)) & 1u) != 0;
}

// Sign bits of slot r for lane l (bit c for element c of the slot). The word index depends on r
// only, so it is the same for all lanes.
uint sign_base = 0;  // first word of the row's sign vector in sign_words

uint slot_signs(uint r, uint l) {
  const uint word = sign_base + W * r / 4;  // elements 8 W r + (0 .. 8 W) lie in word 8 W r / 32
  return sign_words[word / 4][word % 4] >> ((8 * W * r) % 32 + W * l);
}

VEC flip(VEC v, uint bits) {
#if W == 4
  return uintBitsToFloat(floatBitsToUint(v) ^ (uvec4(bits, bits >> 1, bits >> 2, bits >> 3) << 31));
#else
  return uintBitsToFloat(floatBitsToUint(v) ^ (bits << 31));
#endif
}

// The butterflies over the bits of one slot and across the 8 lanes.
VEC lane_butterflies(VEC t, uint l) {
#if W == 4
  const vec4 u = vec4(t.x + t.y, t.x - t.y, t.z + t.w, t.z - t.w);
  t = vec4(u.x + u.z, u.y + u.w, u.x - u.z, u.y - u.w);
#endif
  [[unroll]] for (uint s = 0; s < 3; ++s) {  // (loops over shifts, not masks, so that NIR unrolls them)
    const VEC o = subgroupShuffleXor(t, 1u << s);
    t = (l & (1u << s)) != 0 ? o - t : t + o;
  }
  return t;
}

// Rotates the row of lane l's group: signs_in / signs_out are ~0u to apply the sign vector
// before (forward) or after (inverse) the transform, 0u otherwise.
void hadamard_lanes(uint l, uint signs_in, uint signs_out, float scale) {
  // Load, signs, butterflies inside slots and across lanes, then over the low slot bits.
  VEC v[R];
  [[unroll]] for (uint b = 0; b < R / B1; ++b) {
    [[unroll]] for (uint j = 0; j < B1; ++j) {
      const uint r = b * B1 + j;
      VEC t = HAD_LOAD(r);
      t = flip(t, slot_signs(r, l) & signs_in);
      v[r] = lane_butterflies(t, l);
    }
    [[unroll]] for (uint s = 0; s < LOG2_B1; ++s)
      [[unroll]] for (uint q = 0; q < B1 / 2; ++q) {
        const uint h = 1u << s;
        const uint i = b * B1 + (((q >> s) << (s + 1)) | (q & (h - 1)));
        const VEC e = v[i], f = v[i + h];
        v[i] = e + f;
        v[i + h] = e - f;
      }
  }

  // Per column group: the high slot bits, then H_m across the m rows of the view, then store.
  [[unroll]] for (uint c = 0; c < B1; ++c) {
    [[unroll]] for (uint a = 0; a < M; ++a)
      [[unroll]] for (uint s = 0; s < LOG2_B2; ++s)
        [[unroll]] for (uint q = 0; q < B2 / 2; ++q) {
          const uint h = 1u << s;
          const uint t = ((q >> s) << (s + 1)) | (q & (h - 1));
          const uint i = a * RB + c + B1 * t;
          const VEC e = v[i], f = v[i + h * B1];
          v[i] = e + f;
          v[i + h * B1] = e - f;
        }
    [[unroll]] for (uint t = 0; t < B2; ++t) {
      VEC out_col[M];
      [[unroll]] for (uint a = 0; a < M; ++a) {
        VEC acc = v[c + B1 * t];
        if (hm_negative(a, 0)) acc = -acc;
        [[unroll]] for (uint a2 = 1; a2 < M; ++a2) {
          const VEC e = v[a2 * RB + c + B1 * t];
          acc = hm_negative(a, a2) ? acc - e : acc + e;
        }
        out_col[a] = acc;
      }
      [[unroll]] for (uint a = 0; a < M; ++a) {
        const uint r = a * RB + c + B1 * t;
        VEC y = out_col[a] * scale;
        y = flip(y, slot_signs(r, l) & signs_out);
        HAD_STORE(r, y);
      }
    }
  }
}

#endif
