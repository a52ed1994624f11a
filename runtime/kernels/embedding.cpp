// Variant choice, argument checks and dispatch of the embedding lookup.
#include "kernels/embedding.h"

#include <string>

#include "common/error.h"
#include "kernels/matmul.h"
#include "params/embedding.h"

namespace bitlens::kernels {

EmbeddingLookup::EmbeddingLookup(Gpu& gpu, const GpuMatrix& table, const vk::Buffer& tokens, const vk::Buffer& out)
    : table_(&table), tokens_bytes_(tokens.size()), out_bytes_(out.size()) {
  const auto texel = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
  const auto storage = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
  const quant::FormatInfo& info = quant::format_info(table.layout().format);
  if (info.kind == quant::FormatKind::LowBit)
    throw UnsupportedError(std::string("embedding: a token table in ") + info.name +
                           " is not supported (use a float or group format)");
  kernel_ = &gpu.kernel(std::string("embedding_") + quant::format_info(table.layout().format).name,
                        {texel, storage, storage}, sizeof(EmbeddingParams));
  set_ = vk::DescriptorSet(gpu.ctx(), *kernel_,
                           {vk::Binding::texel(table.view()), vk::Binding::storage(tokens), vk::Binding::storage(out)});
}

void EmbeddingLookup::record(vk::CommandBuffer& cmd, const EmbeddingArgs& a) const {
  if (a.n == 0) return;
  const quant::PackedLayout& l = table_->layout();
  EmbeddingParams p{};
  p.rows = l.rows;
  p.cols = l.cols;
  p.chunks = l.chunks();
  p.chunks_per_group = l.group_size / quant::kChunk;
  p.groups = l.groups();
  p.params_texel = uint32_t(l.params_offset_words() / 4);
  p.n = a.n;
  p.tokens_offset = a.tokens_offset;
  p.out_offset = a.out_offset;
  p.out_stride = a.out_stride ? a.out_stride : activation_stride(l.cols);
  if (p.out_stride < l.cols) throw Error("embedding: output stride is smaller than a row");
  if ((uint64_t(a.tokens_offset) + a.n) * 4 > tokens_bytes_ ||
      (uint64_t(p.out_offset) + uint64_t(a.n - 1) * p.out_stride + l.cols) * 4 > out_bytes_)
    throw Error("embedding: the token or output buffer is too small for " + std::to_string(a.n) + " tokens");
  cmd.dispatch(*kernel_, set_, p, (p.chunks + 63) / 64, a.n);
}

}  // namespace bitlens::kernels
