// Format table and tiled-layout geometry.
#include "quant/format.h"

#include <algorithm>

#include "common/error.h"
#include "quant/layouts/f16.h"
#include "quant/layouts/f32.h"
#include "quant/layouts/q2.h"
#include "quant/layouts/q3.h"
#include "quant/layouts/q4.h"
#include "quant/layouts/q8.h"
#include "quant/lowbit.h"

namespace bitlens::quant {

const std::vector<FormatInfo>& all_formats() {
  static const std::vector<FormatInfo> table = {
      {Format::F32, "f32", 32, f32::kWordsPerChunk, false, FormatKind::Float},
      {Format::F16, "f16", 16, f16::kWordsPerChunk, false, FormatKind::Float},
      {Format::Q2, "q2", q2::kBits, q2::kWordsPerChunk, true, FormatKind::Group},
      {Format::Q3, "q3", q3::kBits, q3::kWordsPerChunk, true, FormatKind::Group},
      {Format::Q4, "q4", q4::kBits, q4::kWordsPerChunk, true, FormatKind::Group},
      {Format::Q8, "q8", q8::kBits, q8::kWordsPerChunk, true, FormatKind::Group},
      {Format::Mixed, "mixed", 0, 0, false, FormatKind::LowBit, &kMixedFormat},
      {Format::Ptq161, "ptq161", 1, 0, false, FormatKind::LowBit, &kPtq161Format},
      {Format::Ternary, "ternary", 2, 0, false, FormatKind::LowBit, &kTernaryFormat},
      {Format::TritPlane, "tritplane", 4, 0, false, FormatKind::LowBit, &kTritPlaneFormat},
  };
  return table;
}

const FormatInfo& format_info(Format f) {
  for (auto& i : all_formats())
    if (i.format == f) return i;
  throw UnsupportedError("unknown weight format id " + std::to_string(uint32_t(f)));
}

bool uses_groups(Format f) {
  const FormatInfo& i = format_info(f);
  return i.grouped || (i.lowbit && i.lowbit->grouped);
}

Format parse_format(std::string_view name) {
  std::string choices;
  for (auto& i : all_formats()) {
    if (name == i.name) return i.format;
    choices += std::string(choices.empty() ? "" : ", ") + i.name;
  }
  throw UnsupportedError("unknown weight format '" + std::string(name) + "' (choose one of " + choices + ")");
}

Format format_for_bits(uint32_t bits) {
  for (auto& i : all_formats())
    if (i.bits == bits && i.kind != FormatKind::LowBit) return i.format;
  throw UnsupportedError("no weight format with " + std::to_string(bits) +
                         " bits per weight (supported: 2, 3, 4, 8, 16, 32)");
}

const std::vector<uint32_t>& supported_group_sizes() {
  static const std::vector<uint32_t> sizes = {32, 64, 128};
  return sizes;
}

static uint64_t align_words(uint64_t w) { return (w + kSectionAlignWords - 1) / kSectionAlignWords * kSectionAlignWords; }

uint64_t PackedLayout::code_words() const {
  const FormatInfo& i = format_info(format);
  if (i.lowbit) return i.lowbit->code_words(*this);
  return uint64_t(tiles()) * chunks() * kTileRows * i.words_per_chunk;
}

uint64_t PackedLayout::params_offset_words() const { return align_words(code_words()); }

uint64_t PackedLayout::param_words() const {
  const FormatInfo& i = format_info(format);
  if (i.lowbit) return i.lowbit->param_words(*this);
  return i.grouped ? uint64_t(tiles()) * groups() * kTileRows : 0;
}

uint64_t PackedLayout::total_words() const {
  return param_words() ? params_offset_words() + param_words() : code_words();
}

double PackedLayout::bpw() const {
  // The alignment gap between sections is not stored in files, so it is not counted.
  return double(code_words() + param_words()) * 32.0 / (double(rows) * double(cols));
}

uint64_t PackedLayout::code_index(uint32_t tile, uint32_t chunk) const {
  return (uint64_t(tile) * chunks() + chunk) * kTileRows * format_info(format).words_per_chunk;
}

uint64_t PackedLayout::param_index(uint32_t tile, uint32_t group) const {
  return params_offset_words() + (uint64_t(tile) * groups() + group) * kTileRows;
}

std::string PackedLayout::describe() const {
  const FormatInfo& i = format_info(format);
  std::string s = i.name;
  if (i.lowbit && i.lowbit->aux_tag) s += " " + std::string(i.lowbit->aux_tag) + std::to_string(aux);
  else if (uses_groups(format)) s += " g" + std::to_string(group_size);
  return s + " " + std::to_string(rows) + "x" + std::to_string(cols);
}

void validate(const PackedLayout& l) {
  const FormatInfo& info = format_info(l.format);
  if (l.rows == 0 || l.cols == 0)
    throw UnsupportedError("matrix " + std::to_string(l.rows) + "x" + std::to_string(l.cols) + " is empty");
  if (l.rows > (1u << 24) || l.cols > (1u << 24))
    throw UnsupportedError("matrix " + std::to_string(l.rows) + "x" + std::to_string(l.cols) +
                           " is larger than the kernels support (2^24 rows or columns)");
  if (uses_groups(l.format)) {
    const auto& gs = supported_group_sizes();
    if (std::find(gs.begin(), gs.end(), l.group_size) == gs.end())
      throw UnsupportedError("group size " + std::to_string(l.group_size) + " is not supported for " + info.name +
                             " (choose 32, 64 or 128)");
  }
  if (info.lowbit) info.lowbit->validate(l);
  else require_no_aux(l);
}

}  // namespace bitlens::quant
