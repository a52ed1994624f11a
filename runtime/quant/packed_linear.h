// PackedLinear: one quantized linear layer y = W x as it is stored and run. Every quantizer
// produces it, the container stores it, the CPU reference and the Vulkan forward pass run it:
//   x' = V x                                   (if rotation.input:  H_in S_in x / sqrt(in))
//   y' = W_packed x' + lora_scale * B (A x')   (if lora_rank > 0)
//   y  = U^T y'                                (if rotation.output: S_out H_out^T y' / sqrt(out))
// so that W_packed approximates U W V^T (rotation.h).
#pragma once

#include <cstdint>
#include <vector>

#include "quant/packing.h"
#include "quant/rotation.h"

namespace bitlens::quant {

struct PackedLinear {
  PackedMatrix weight;
  Rotation rotation;
  uint32_t lora_rank = 0;
  std::vector<uint16_t> lora_a;  // [rank x in] fp16
  std::vector<uint16_t> lora_b;  // [out x rank] fp16
  float lora_scale = 0.0f;       // alpha / rank

  // Bytes this layer occupies as stored: packed weight, sign vectors, LoRA factors.
  uint64_t stored_bytes() const;
};

// W_eff = U^T (W_hat + lora_scale * B A) V: the weight the layer applies in the original basis,
// row-major [out x in]. Throws Error if the LoRA factors do not fit the weight.
std::vector<float> effective_weight(const PackedLinear& linear);

}  // namespace bitlens::quant
