// Binary layout of the .blq container shared by its writer and reader (docs/CONTAINER.md).
#pragma once

#include <cstdint>

namespace bitlens::model::container_format {

constexpr char kMagic[8] = {'B', 'I', 'T', 'L', 'E', 'N', 'S', 'Q'};
constexpr uint32_t kHeaderBytes = 80;
constexpr uint32_t kEntryBytes = 128;
constexpr uint32_t kNameBytes = 64;
constexpr uint32_t kAlignment = 64;
constexpr uint32_t kMaxTensors = 1u << 20;

enum class Kind : uint32_t { Packed = 1, F32 = 2, U32 = 3, U16 = 4 };

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t alignment;
  uint32_t n_tensors;
  uint32_t flags;
  uint64_t table_offset;
  uint64_t table_bytes;
  uint64_t metadata_offset;
  uint64_t metadata_bytes;
  uint64_t file_bytes;
  uint32_t table_crc;
  uint32_t metadata_crc;
  uint32_t reserved;
  uint32_t header_crc;  // CRC of the 76 bytes before it
};
static_assert(sizeof(Header) == kHeaderBytes);

struct Entry {
  char name[kNameBytes];
  uint32_t kind;
  uint32_t format;
  uint32_t rows;
  uint32_t cols;
  uint32_t group_size;
  uint32_t aux;  // quant::PackedLayout::aux (low-bit formats; 0 otherwise)
  uint64_t offset;
  uint64_t bytes;
  uint32_t crc;
  uint32_t reserved[5];
};
static_assert(sizeof(Entry) == kEntryBytes);


}  // namespace bitlens::model::container_format
