// The table of weight formats the kernels run, and the tiled layout every format shares:
// rows are grouped in tiles of kTileRows, columns in chunks of kChunk; the words of one tile's
// chunk (all its rows) are contiguous, so a kernel fetches them with a few wide loads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bitlens::quant {

enum class Format : uint32_t {
  F32 = 0, F16 = 1, Q2 = 2, Q3 = 3, Q4 = 4, Q8 = 5,
  Mixed = 6,      // SliM-LLM: every column group has its own width, 1-4 bits (layouts/mixed.h)
  Ptq161 = 7,     // PTQ1.61: binarized rows + 4-bit salient columns (layouts/ptq161.h)
  Ternary = 8,    // w = a * t, t in {-1, 0, 1}, 1.625-bit trit packing (layouts/ternary.h)
  TritPlane = 9,  // PTQTP: w = a1 * t1 + a2 * t2, two trit planes (layouts/tritplane.h)
};

// Float formats (no parameters), uniform group formats (QuantizedMatrix, one (scale, offset) word
// per row and group), and the low-bit formats with their own logical matrices (lowbit.h).
enum class FormatKind : uint32_t { Float, Group, LowBit };

inline constexpr uint32_t kChunk = 32;     // columns per chunk
inline constexpr uint32_t kTileRows = 8;   // rows per tile
inline constexpr uint32_t kSectionAlignWords = 64;  // 256-byte alignment of the sections

struct LowBitFormat;  // lowbit.h: a low-bit format's layout sizes, checks and scalar reference

struct FormatInfo {
  Format format;
  const char* name;          // "q4", "f16", ...
  uint32_t bits;             // code bits per weight (16/32 for float formats; nominal for low-bit ones)
  uint32_t words_per_chunk;  // 32-bit words one row's chunk of 32 weights takes (0: not per row)
  bool grouped;              // a uniform group format: per-group (scale, offset) words, QuantizedMatrix
  FormatKind kind;
  const LowBitFormat* lowbit = nullptr;  // the low-bit formats' own functions (null for the others)
};

const FormatInfo& format_info(Format f);
// Whether the format has per-row, per-column-group parameters (group formats, mixed, ternary,
// tritplane): PackedLayout::group_size matters.
bool uses_groups(Format f);
const std::vector<FormatInfo>& all_formats();
Format parse_format(std::string_view name);  // throws UnsupportedError listing the choices
Format format_for_bits(uint32_t bits);       // 2, 3, 4, 8 -> Q*, 16 -> F16, 32 -> F32 (never a low-bit format)
const std::vector<uint32_t>& supported_group_sizes();  // {32, 64, 128}

// Geometry of one packed matrix [rows x cols] in `format` with `group_size` (ignored for floats and
// PTQ1.61). The code section comes first, the parameter section starts 256-byte aligned after it;
// for the low-bit formats the sections hold what their layout header describes.
struct PackedLayout {
  Format format = Format::F32;
  uint32_t rows = 0, cols = 0, group_size = 0;
  // Format-specific size: Mixed: code words per row of a tile (sum over chunks of their widths);
  // Ptq161: number of salient columns. 0 for the other formats.
  uint32_t aux = 0;

  uint32_t tiles() const { return (rows + kTileRows - 1) / kTileRows; }
  uint32_t chunks() const { return (cols + kChunk - 1) / kChunk; }
  uint32_t groups() const { return group_size ? (cols + group_size - 1) / group_size : 0; }
  uint64_t code_words() const;
  uint64_t params_offset_words() const;  // where the group parameters start
  uint64_t param_words() const;          // group formats: one word (fp16 scale | fp16 offset << 16) per row and group
  uint64_t total_words() const;
  uint64_t total_bytes() const { return total_words() * 4; }
  // Honest bits per weight: every stored byte (codes, parameters, padding) over rows*cols.
  double bpw() const;
  // Index of the first word of (tile, chunk) in the code section, and of (tile, group) in params
  // (float and group formats).
  uint64_t code_index(uint32_t tile, uint32_t chunk) const;
  uint64_t param_index(uint32_t tile, uint32_t group) const;
  std::string describe() const;  // "q4 g64 768x288"
};

// Throws UnsupportedError with a clear message if the layout cannot be packed or run.
void validate(const PackedLayout& layout);

}  // namespace bitlens::quant
