// Packing of logical matrices into the tiled layout of format.h, and back. The packed words are
// exactly what is uploaded to the GPU and stored in the container.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "quant/format.h"
#include "quant/group_quant.h"

namespace bitlens::quant {

struct PackedMatrix {
  PackedLayout layout;
  std::vector<uint32_t> words;  // layout.total_words()
};

PackedMatrix pack(const QuantizedMatrix& m);
QuantizedMatrix unpack(const PackedMatrix& p);  // grouped formats only
// Float formats (F32, F16) from a row-major matrix.
PackedMatrix pack_float(std::span<const float> w, uint32_t rows, uint32_t cols, Format format);
// The matrix a packed tensor represents, row-major (w_hat for grouped and low-bit formats).
std::vector<float> dequantize(const PackedMatrix& p);

// The matrices stacked row-wise ([a; b; ...]) without repacking: they must share format, columns
// and group size, and every one but the last must fill whole tiles (rows a multiple of kTileRows).
// Used to fuse layers that read the same input (wq/wk/wv, w1/w3) into one product.
PackedMatrix concat_rows(const std::vector<const PackedMatrix*>& parts);
bool can_concat_rows(const std::vector<const PackedMatrix*>& parts);

}  // namespace bitlens::quant
