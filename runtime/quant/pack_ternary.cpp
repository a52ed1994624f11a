// Packing of ternary and trit-plane matrices into layouts/ternary.h and layouts/tritplane.h.
#include <algorithm>

#include "common/error.h"
#include "common/parallel.h"
#include "quant/layouts/ternary.h"
#include "quant/layouts/tritplane.h"
#include "quant/lowbit.h"
#include "quant/ternary_quant.h"

namespace bitlens::quant {

namespace {

void check_packed(const PackedMatrix& p, Format f) {
  if (p.layout.format != f)
    throw UnsupportedError("expected a " + std::string(format_info(f).name) + " matrix, got " + p.layout.describe());
  validate(p.layout);
  if (p.words.size() != p.layout.total_words())
    throw Error("packed matrix " + p.layout.describe() + " has " + std::to_string(p.words.size()) +
                " words, expected " + std::to_string(p.layout.total_words()));
}

// The 256 trits of tile-chunk (tile, chunk) of a [rows][cols] plane; zeros outside the matrix.
void gather(const std::vector<int8_t>& plane, uint32_t rows, uint32_t cols, uint32_t tile, uint32_t chunk,
            int8_t* out) {
  std::fill(out, out + ternary::kTileChunkTrits, int8_t(0));
  for (uint32_t i = 0; i < kTileRows; ++i) {
    const uint32_t r = tile * kTileRows + i;
    if (r >= rows) break;
    const uint32_t c0 = chunk * kChunk, n = std::min(kChunk, cols - c0);
    std::copy_n(&plane[size_t(r) * cols + c0], n, out + i * kChunk);
  }
}

void scatter(const int8_t* in, uint32_t rows, uint32_t cols, uint32_t tile, uint32_t chunk, std::vector<int8_t>& plane) {
  for (uint32_t i = 0; i < kTileRows; ++i) {
    const uint32_t r = tile * kTileRows + i;
    if (r >= rows) break;
    const uint32_t c0 = chunk * kChunk, n = std::min(kChunk, cols - c0);
    std::copy_n(in + i * kChunk, n, &plane[size_t(r) * cols + c0]);
  }
}

void check_trits(const std::vector<int8_t>& t, size_t n, const char* what) {
  if (t.size() != n) throw Error(std::string(what) + ": wrong number of trits");
  for (int8_t v : t)
    if (v < -1 || v > 1) throw Error(std::string(what) + ": trit out of range");
}

}  // namespace

PackedMatrix pack(const TernaryMatrix& m) {
  PackedMatrix p;
  p.layout = {Format::Ternary, m.rows, m.cols, m.group_size};
  validate(p.layout);
  check_trits(m.trits, size_t(m.rows) * m.cols, "pack(ternary)");
  p.words.assign(p.layout.total_words(), 0);
  const PackedLayout& l = p.layout;
  parallel_for(l.tiles(), [&](size_t t0, size_t t1) {
    int8_t trits[ternary::kTileChunkTrits];
    for (size_t t = t0; t < t1; ++t) {
      for (uint32_t c = 0; c < l.chunks(); ++c) {
        gather(m.trits, m.rows, m.cols, uint32_t(t), c, trits);
        ternary::pack_tile_chunk(trits, &p.words[(t * l.chunks() + c) * ternary::kTileChunkWords]);
      }
      for (uint32_t g = 0; g < l.groups(); ++g) {
        uint32_t* dst = &p.words[l.params_offset_words() + (t * l.groups() + g) * ternary::kParamWordsPerTileGroup];
        for (uint32_t i = 0; i < kTileRows; ++i) {
          const uint32_t r = uint32_t(t) * kTileRows + i;
          if (r < m.rows) dst[i / 2] |= uint32_t(m.scale[size_t(r) * m.groups() + g]) << (16 * (i % 2));
        }
      }
    }
  });
  return p;
}

TernaryMatrix unpack_ternary(const PackedMatrix& p) {
  check_packed(p, Format::Ternary);
  const PackedLayout& l = p.layout;
  TernaryMatrix m = make_ternary(l.rows, l.cols, l.group_size);
  int8_t trits[ternary::kTileChunkTrits];
  for (uint32_t t = 0; t < l.tiles(); ++t) {
    for (uint32_t c = 0; c < l.chunks(); ++c) {
      ternary::unpack_tile_chunk(&p.words[(uint64_t(t) * l.chunks() + c) * ternary::kTileChunkWords], trits);
      scatter(trits, m.rows, m.cols, t, c, m.trits);
    }
    for (uint32_t g = 0; g < l.groups(); ++g) {
      const uint32_t* src = &p.words[l.params_offset_words() + (uint64_t(t) * l.groups() + g) * ternary::kParamWordsPerTileGroup];
      for (uint32_t i = 0; i < kTileRows; ++i) {
        const uint32_t r = t * kTileRows + i;
        if (r < m.rows) m.scale[size_t(r) * m.groups() + g] = uint16_t(src[i / 2] >> (16 * (i % 2)));
      }
    }
  }
  return m;
}

PackedMatrix pack(const TritPlaneMatrix& m) {
  PackedMatrix p;
  p.layout = {Format::TritPlane, m.rows, m.cols, m.group_size};
  validate(p.layout);
  check_trits(m.t1, size_t(m.rows) * m.cols, "pack(tritplane)");
  check_trits(m.t2, size_t(m.rows) * m.cols, "pack(tritplane)");
  p.words.assign(p.layout.total_words(), 0);
  const PackedLayout& l = p.layout;
  parallel_for(l.tiles(), [&](size_t t0, size_t t1) {
    int8_t a[ternary::kTileChunkTrits], b[ternary::kTileChunkTrits];
    for (size_t t = t0; t < t1; ++t) {
      for (uint32_t c = 0; c < l.chunks(); ++c) {
        gather(m.t1, m.rows, m.cols, uint32_t(t), c, a);
        gather(m.t2, m.rows, m.cols, uint32_t(t), c, b);
        tritplane::pack_tile_chunk(a, b, &p.words[(t * l.chunks() + c) * tritplane::kTileChunkWords]);
      }
      for (uint32_t g = 0; g < l.groups(); ++g)
        for (uint32_t i = 0; i < kTileRows; ++i) {
          const uint32_t r = uint32_t(t) * kTileRows + i;
          if (r >= m.rows) break;
          const size_t src = size_t(r) * m.groups() + g;
          p.words[l.params_offset_words() + (t * l.groups() + g) * kTileRows + i] =
              uint32_t(m.a1[src]) | uint32_t(m.a2[src]) << 16;
        }
    }
  });
  return p;
}

TritPlaneMatrix unpack_tritplane(const PackedMatrix& p) {
  check_packed(p, Format::TritPlane);
  const PackedLayout& l = p.layout;
  TritPlaneMatrix m = make_tritplane(l.rows, l.cols, l.group_size);
  int8_t a[ternary::kTileChunkTrits], b[ternary::kTileChunkTrits];
  for (uint32_t t = 0; t < l.tiles(); ++t) {
    for (uint32_t c = 0; c < l.chunks(); ++c) {
      tritplane::unpack_tile_chunk(&p.words[(uint64_t(t) * l.chunks() + c) * tritplane::kTileChunkWords], a, b);
      scatter(a, m.rows, m.cols, t, c, m.t1);
      scatter(b, m.rows, m.cols, t, c, m.t2);
    }
    for (uint32_t g = 0; g < l.groups(); ++g)
      for (uint32_t i = 0; i < kTileRows; ++i) {
        const uint32_t r = t * kTileRows + i;
        if (r >= m.rows) break;
        const uint32_t word = p.words[l.params_offset_words() + (uint64_t(t) * l.groups() + g) * kTileRows + i];
        m.a1[size_t(r) * m.groups() + g] = uint16_t(word & 0xffffu);
        m.a2[size_t(r) * m.groups() + g] = uint16_t(word >> 16);
      }
  }
  return m;
}

const LowBitFormat kTernaryFormat = {
    .grouped = true,
    .aux_tag = nullptr,
    .code_words = [](const PackedLayout& l) { return uint64_t(l.tiles()) * l.chunks() * ternary::kTileChunkWords; },
    .param_words =
        [](const PackedLayout& l) { return uint64_t(l.tiles()) * l.groups() * ternary::kParamWordsPerTileGroup; },
    .validate = require_no_aux,
    .validate_tables = nullptr,
    .dequantize = [](const PackedMatrix& p) { return dequantize(unpack_ternary(p)); },
    .bench_weights = [](std::span<const float> w, uint32_t rows, uint32_t cols,
                        uint64_t) { return pack(quantize_ternary(w, rows, cols, 64)); },
};

const LowBitFormat kTritPlaneFormat = {
    .grouped = true,
    .aux_tag = nullptr,
    .code_words = [](const PackedLayout& l) { return uint64_t(l.tiles()) * l.chunks() * tritplane::kTileChunkWords; },
    .param_words = [](const PackedLayout& l) { return uint64_t(l.tiles()) * l.groups() * kTileRows; },
    .validate = require_no_aux,
    .validate_tables = nullptr,
    .dequantize = [](const PackedMatrix& p) { return dequantize(unpack_tritplane(p)); },
    .bench_weights = [](std::span<const float> w, uint32_t rows, uint32_t cols,
                        uint64_t) { return pack(quantize_tritplane(w, rows, cols, 64)); },
};

}  // namespace bitlens::quant
