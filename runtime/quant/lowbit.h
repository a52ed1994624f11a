// Logical (unpacked) forms of the low-bit formats, their scalar reference dequantization (the
// oracle of the kernels) and their packing into the layouts of layouts/{mixed,ptq161,ternary,
// tritplane}.h. Every matrix is [rows x cols], row-major; parameters are fp16 bit patterns, and
// w_hat is computed from the fp16 values exactly as the kernels see them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "quant/group_quant.h"
#include "quant/packing.h"

namespace bitlens::quant {

// SliM-LLM output: column group g (all rows) has width group_bits[g] in {1..4};
// w_hat = scale * q - offset per row and group.
struct MixedMatrix {
  uint32_t rows = 0, cols = 0, group_size = 0;
  std::vector<uint8_t> group_bits;  // [groups]
  std::vector<uint8_t> codes;       // [rows][cols], q < 2^bits of the column's group
  std::vector<uint16_t> scale;      // [rows][groups] fp16
  std::vector<uint16_t> offset;     // [rows][groups] fp16

  uint32_t groups() const { return (cols + group_size - 1) / group_size; }
  QParams params(uint32_t row, uint32_t group) const;
  float dequantized(uint32_t row, uint32_t col) const;
  // Mean code width over the columns (the payload bits per weight).
  double mean_bits() const;
};
MixedMatrix make_mixed(uint32_t rows, uint32_t cols, uint32_t group_size, std::vector<uint8_t> group_bits);
void set_params(MixedMatrix& m, uint32_t row, uint32_t group, const QParams& p);

// PTQ1.61 output: salient columns (increasing) at 4 bits per row, the rest binarized per row.
struct Ptq161Matrix {
  uint32_t rows = 0, cols = 0;
  std::vector<uint32_t> salient;   // increasing column indices
  std::vector<uint8_t> signs;      // [rows][cols] b in {0, 1}: s = 2b - 1 (ignored at salient columns)
  std::vector<uint8_t> codes;      // [rows][salient.size()] q in [0, 15]
  std::vector<uint16_t> alpha, mu;           // [rows] fp16: w_hat = alpha * s + mu
  std::vector<uint16_t> sscale, soffset;     // [rows] fp16: w_hat = sscale * q - soffset (salient)

  std::vector<int32_t> salient_slot() const;  // [cols]: index into `salient`, or -1
};
Ptq161Matrix make_ptq161(uint32_t rows, uint32_t cols, std::vector<uint32_t> salient);

// Ternary: w_hat = scale * t, t in {-1, 0, 1}, one fp16 scale per row and group.
struct TernaryMatrix {
  uint32_t rows = 0, cols = 0, group_size = 0;
  std::vector<int8_t> trits;    // [rows][cols]
  std::vector<uint16_t> scale;  // [rows][groups] fp16

  uint32_t groups() const { return (cols + group_size - 1) / group_size; }
};
TernaryMatrix make_ternary(uint32_t rows, uint32_t cols, uint32_t group_size);

// PTQTP trit-planes: w_hat = a1 * t1 + a2 * t2, one fp16 pair (a1, a2) per row and group.
struct TritPlaneMatrix {
  uint32_t rows = 0, cols = 0, group_size = 0;
  std::vector<int8_t> t1, t2;       // [rows][cols]
  std::vector<uint16_t> a1, a2;     // [rows][groups] fp16

  uint32_t groups() const { return (cols + group_size - 1) / group_size; }
};
TritPlaneMatrix make_tritplane(uint32_t rows, uint32_t cols, uint32_t group_size);

// Scalar reference: w_hat for every weight, row-major.
std::vector<float> dequantize(const MixedMatrix& m);
std::vector<float> dequantize(const Ptq161Matrix& m);
std::vector<float> dequantize(const TernaryMatrix& m);
std::vector<float> dequantize(const TritPlaneMatrix& m);

PackedMatrix pack(const MixedMatrix& m);
PackedMatrix pack(const Ptq161Matrix& m);
PackedMatrix pack(const TernaryMatrix& m);
PackedMatrix pack(const TritPlaneMatrix& m);

// Inverse of pack, for the matching format (throws for another format or a malformed buffer).
MixedMatrix unpack_mixed(const PackedMatrix& p);
Ptq161Matrix unpack_ptq161(const PackedMatrix& p);
TernaryMatrix unpack_ternary(const PackedMatrix& p);
TritPlaneMatrix unpack_tritplane(const PackedMatrix& p);

// The tables of a packed matrix, checked against its layout (throw Error when inconsistent):
// the column-group widths of a mixed matrix, the salient columns of a ptq161 matrix.
std::vector<uint8_t> mixed_widths(const PackedMatrix& p);
std::vector<uint32_t> ptq161_salient(const PackedMatrix& p);

// Checks the internal tables a kernel trusts (the format's validate_tables); nothing to check for
// the formats without tables. Throws Error.
void validate_tables(const PackedMatrix& p);

// What the format table (format.cpp) needs of a low-bit format, defined in the format's own
// packing file: everything the shared code would otherwise switch on the format for.
struct LowBitFormat {
  bool grouped;         // per-row, per-column-group parameters: PackedLayout::group_size matters
  const char* aux_tag;  // describe() prefix of PackedLayout::aux ("s": salient columns), or null
  uint64_t (*code_words)(const PackedLayout& l);
  uint64_t (*param_words)(const PackedLayout& l);
  // Format-specific checks of a layout (aux); throws UnsupportedError.
  void (*validate)(const PackedLayout& l);
  // Checks of the tables a kernel trusts (may be null); throws Error.
  void (*validate_tables)(const PackedMatrix& p);
  std::vector<float> (*dequantize)(const PackedMatrix& p);  // the scalar reference
  // The format's quantizer on generated weights w (kernel benchmarks and tests), group size 64.
  PackedMatrix (*bench_weights)(std::span<const float> w, uint32_t rows, uint32_t cols, uint64_t seed);
};
extern const LowBitFormat kMixedFormat;      // pack_mixed.cpp
extern const LowBitFormat kPtq161Format;     // pack_ptq161.cpp
extern const LowBitFormat kTernaryFormat;    // pack_ternary.cpp
extern const LowBitFormat kTritPlaneFormat;  // pack_ternary.cpp

// Throws UnsupportedError unless a layout without a format-specific size has aux == 0.
void require_no_aux(const PackedLayout& l);

}  // namespace bitlens::quant
