// PackedModel: a model ready for the runtime, every linear layer in its own packed format (any row
// of quant/format.h), with the optional Hadamard rotations and LoRA factors a quantizer attached.
// It is what quantizers produce, what the container stores, and what the CPU reference and the
// Vulkan forward pass run.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "model/config.h"
#include "model/weights.h"
#include "quant/packed_linear.h"

namespace bitlens::model {

struct PackedLayer {
  std::vector<float> rms_att;  // [dim]
  std::vector<float> rms_ffn;  // [dim]
  std::array<quant::PackedLinear, kLinearsPerLayer> linears;  // indexed by Linear
  quant::PackedLinear& linear(Linear l) { return linears[uint32_t(l)]; }
  const quant::PackedLinear& linear(Linear l) const { return linears[uint32_t(l)]; }
};

struct PackedModel {
  ModelConfig config;
  quant::PackedMatrix token_embedding;            // [vocab x dim]; rows are looked up by token
  std::optional<quant::PackedMatrix> classifier;  // [vocab x dim]; absent: shared with the embedding
  std::vector<PackedLayer> layers;
  std::vector<float> rms_final;  // [dim]

  const quant::PackedMatrix& output_matrix() const { return classifier ? *classifier : token_embedding; }
  // Bytes of everything stored (norms in fp32, the shared classifier once).
  uint64_t stored_bytes() const;
  // Bits per weight over the linear layers of the blocks alone, and over the whole model.
  double linear_bpw() const;
  double model_bpw() const;
};

// Weight formats for a plain conversion: every block linear in `linear_format` (group_size for
// grouped formats, round-to-nearest), the embedding/classifier in `embedding_format`.
struct PackOptions {
  quant::Format linear_format = quant::Format::F32;
  uint32_t group_size = 64;
  quant::Format embedding_format = quant::Format::F32;
  uint32_t embedding_group_size = 64;
};

quant::PackedMatrix pack_matrix(const Matrix& m, quant::Format format, uint32_t group_size);
PackedModel pack_model(const Model& model, const PackOptions& options);

}  // namespace bitlens::model
