// Packing of PTQ1.61 matrices into layouts/ptq161.h.
#include <algorithm>
#include <bit>

#include "common/error.h"
#include "common/parallel.h"
#include "quant/layouts/ptq161.h"
#include "quant/layouts/q3.h"
#include "quant/lowbit.h"
#include "quant/ptq161_quant.h"
#include <random>

namespace bitlens::quant {

namespace {

uint64_t salient_code_word(const ptq161::ParamSections& s, uint32_t salient_chunks, uint32_t t, uint32_t sc, uint32_t i) {
  return s.salient + (uint64_t(t) * salient_chunks + sc) * kTileRows * ptq161::kSalientWordsPerRowChunk +
         i * ptq161::kSalientWordsPerRowChunk;
}

}  // namespace

PackedMatrix pack(const Ptq161Matrix& m) {
  const uint32_t ns = uint32_t(m.salient.size());
  PackedMatrix p;
  p.layout = {Format::Ptq161, m.rows, m.cols, 0, ns};
  validate(p.layout);
  if (m.signs.size() != size_t(m.rows) * m.cols || m.codes.size() != size_t(m.rows) * ns || m.alpha.size() != m.rows)
    throw Error("pack(ptq161): the matrix's arrays do not match its shape");
  const PackedLayout& l = p.layout;
  p.words.assign(l.total_words(), 0);
  const auto s = ptq161::param_sections(l.params_offset_words(), l.tiles(), l.chunks(), ns);
  const uint32_t salient_chunks = (ns + 31) / 32;
  const std::vector<int32_t> slot = m.salient_slot();
  p.words[s.meta] = ns;
  p.words[s.meta + 1] = uint32_t(s.mask);
  p.words[s.meta + 2] = uint32_t(s.index);
  p.words[s.meta + 3] = uint32_t(s.salient);
  for (uint32_t k = 0; k < ns; ++k) {
    const uint32_t c = m.salient[k];
    p.words[s.mask + c / 32] |= 1u << (c % 32);
    p.words[s.index + k / 2] |= c << (16 * (k % 2));
  }
  parallel_for(m.rows, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      const uint32_t t = uint32_t(r) / kTileRows, i = uint32_t(r) % kTileRows;
      const uint8_t* q = m.codes.data() + r * ns;  // no salient columns: codes is empty
      for (uint32_t c = 0; c < m.cols; ++c) {
        const uint32_t b = slot[c] >= 0 ? q[slot[c]] & 1u : m.signs[r * m.cols + c] & 1u;
        if (slot[c] >= 0 && q[slot[c]] > 15) throw Error("pack(ptq161): salient code above 15");
        p.words[(uint64_t(t) * l.chunks() + c / 32) * kTileRows + i] |= b << (c % 32);
      }
      p.words[s.rows + uint64_t(t) * ptq161::kRowParamWordsPerTile + i] = uint32_t(m.alpha[r]) | uint32_t(m.mu[r]) << 16;
      p.words[s.rows + uint64_t(t) * ptq161::kRowParamWordsPerTile + kTileRows + i] =
          uint32_t(m.sscale[r]) | uint32_t(m.soffset[r]) << 16;
      uint8_t high[kChunk];
      for (uint32_t sc = 0; sc < salient_chunks; ++sc) {
        std::fill(high, high + kChunk, uint8_t(0));
        for (uint32_t j = 0; j < kChunk && sc * kChunk + j < ns; ++j) high[j] = q[sc * kChunk + j] >> 1;
        q3::pack_chunk(high, &p.words[salient_code_word(s, salient_chunks, t, sc, i)]);
      }
    }
  });
  return p;
}

std::vector<uint32_t> ptq161_salient(const PackedMatrix& p) {
  const PackedLayout& l = p.layout;
  if (l.format != Format::Ptq161) throw UnsupportedError("expected a ptq161 matrix, got " + l.describe());
  validate(l);
  if (p.words.size() != l.total_words())
    throw Error("packed matrix " + l.describe() + " has " + std::to_string(p.words.size()) + " words, expected " +
                std::to_string(l.total_words()));
  const uint32_t ns = l.aux;
  const auto s = ptq161::param_sections(l.params_offset_words(), l.tiles(), l.chunks(), ns);
  if (p.words[s.meta] != ns || p.words[s.meta + 1] != s.mask || p.words[s.meta + 2] != s.index ||
      p.words[s.meta + 3] != s.salient)
    throw Error("packed matrix " + l.describe() + ": its section table does not match its layout");
  std::vector<uint32_t> salient(ns);
  for (uint32_t k = 0; k < ns; ++k) salient[k] = (p.words[s.index + k / 2] >> (16 * (k % 2))) & 0xffffu;
  for (uint32_t k = 0; k < ns; ++k)
    if (salient[k] >= l.cols || (k > 0 && salient[k] <= salient[k - 1]))
      throw Error("packed matrix " + l.describe() + ": salient columns out of range or out of order");
  uint32_t masked = 0;
  for (uint32_t c = 0; c < l.chunks(); ++c) masked += uint32_t(std::popcount(p.words[s.mask + c]));
  for (uint32_t k = 0; k < ns; ++k)
    if (!((p.words[s.mask + salient[k] / 32] >> (salient[k] % 32)) & 1u)) masked = ~0u;
  if (masked != ns) throw Error("packed matrix " + l.describe() + ": salient column list and mask disagree");
  return salient;
}

Ptq161Matrix unpack_ptq161(const PackedMatrix& p) {
  const PackedLayout& l = p.layout;
  const uint32_t ns = l.aux;
  const auto s = ptq161::param_sections(l.params_offset_words(), l.tiles(), l.chunks(), ns);
  Ptq161Matrix m = make_ptq161(l.rows, l.cols, ptq161_salient(p));
  const std::vector<int32_t> slot = m.salient_slot();
  const uint32_t salient_chunks = (ns + 31) / 32;
  uint8_t high[kChunk];
  for (uint32_t r = 0; r < m.rows; ++r) {
    const uint32_t t = r / kTileRows, i = r % kTileRows;
    uint8_t* q = m.codes.data() + size_t(r) * ns;  // no salient columns: codes is empty
    for (uint32_t sc = 0; sc < salient_chunks; ++sc) {
      q3::unpack_chunk(&p.words[salient_code_word(s, salient_chunks, t, sc, i)], high);
      for (uint32_t j = 0; j < kChunk && sc * kChunk + j < ns; ++j) q[sc * kChunk + j] = uint8_t(high[j] << 1);
    }
    for (uint32_t c = 0; c < m.cols; ++c) {
      const uint8_t b = uint8_t((p.words[(uint64_t(t) * l.chunks() + c / 32) * kTileRows + i] >> (c % 32)) & 1u);
      if (slot[c] >= 0) q[slot[c]] |= b;
      else m.signs[size_t(r) * m.cols + c] = b;
    }
    const uint32_t ab = p.words[s.rows + uint64_t(t) * ptq161::kRowParamWordsPerTile + i];
    const uint32_t so = p.words[s.rows + uint64_t(t) * ptq161::kRowParamWordsPerTile + kTileRows + i];
    m.alpha[r] = uint16_t(ab & 0xffffu);
    m.mu[r] = uint16_t(ab >> 16);
    m.sscale[r] = uint16_t(so & 0xffffu);
    m.soffset[r] = uint16_t(so >> 16);
  }
  return m;
}

const LowBitFormat kPtq161Format = {
    .grouped = false,
    .aux_tag = "s",
    .code_words = [](const PackedLayout& l) { return uint64_t(l.tiles()) * l.chunks() * kTileRows; },
    .param_words = [](const PackedLayout& l) { return ptq161::param_sections(0, l.tiles(), l.chunks(), l.aux).end; },
    .validate =
        [](const PackedLayout& l) {
          if (l.cols > ptq161::kMaxColumns)
            throw UnsupportedError("ptq161 supports at most " + std::to_string(ptq161::kMaxColumns) + " columns, not " +
                                   std::to_string(l.cols));
          if (l.aux > l.cols)
            throw UnsupportedError("ptq161 matrix with " + std::to_string(l.aux) + " salient columns of " +
                                   std::to_string(l.cols));
        },
    .validate_tables = [](const PackedMatrix& p) { ptq161_salient(p); },
    .dequantize = [](const PackedMatrix& p) { return dequantize(unpack_ptq161(p)); },
    .bench_weights =
        [](std::span<const float> w, uint32_t rows, uint32_t cols, uint64_t seed) {
          std::vector<float> magnitude(cols);  // 20% salient columns (the default) of random magnitudes
          std::mt19937_64 rng(seed);
          for (auto& m : magnitude) m = std::uniform_real_distribution<float>(0.0f, 1.0f)(rng);
          return pack(quantize_ptq161(w, rows, cols, magnitude, nullptr));
        },
};

}  // namespace bitlens::quant
