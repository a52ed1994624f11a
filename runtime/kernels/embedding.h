// Token-embedding lookup on the device: each token's row of a packed [vocab x dim] matrix in any
// format of quant/format.h, dequantized to floats (shaders/embedding.comp). When the classifier
// is shared with the embedding, both read the same GpuMatrix: no second fp32 copy exists.
#pragma once

#include <cstdint>

#include "kernels/gpu.h"
#include "kernels/gpu_matrix.h"
#include "vk/buffer.h"
#include "vk/commands.h"

namespace bitlens::kernels {

struct EmbeddingArgs {
  uint32_t n = 1;              // tokens
  uint32_t tokens_offset = 0;  // first token id in the token buffer (uint32 ids)
  uint32_t out_offset = 0;     // floats
  uint32_t out_stride = 0;     // floats between tokens; 0 = dim rounded up to 4
};

class EmbeddingLookup {
 public:
  // Binds the table, the token-id buffer and the float output buffer.
  EmbeddingLookup(Gpu& gpu, const GpuMatrix& table, const vk::Buffer& tokens, const vk::Buffer& out);
  void record(vk::CommandBuffer& cmd, const EmbeddingArgs& args) const;

 private:
  const vk::Kernel* kernel_;
  const GpuMatrix* table_;
  uint64_t tokens_bytes_, out_bytes_;
  vk::DescriptorSet set_;
};

}  // namespace bitlens::kernels
