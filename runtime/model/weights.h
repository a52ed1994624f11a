// Full-precision weights of a LLaMA-family model, as float matrices (row-major [out, in], like
// llama2.c's TransformerWeights). A Model owns its storage: a memory-mapped fp32 checkpoint, or
// floats converted at load time (fp16 GGUF).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/config.h"

namespace bitlens::model {

// A read-only float matrix view; a vector is a 1 x n matrix.
struct Matrix {
  const float* data = nullptr;
  uint32_t rows = 0, cols = 0;
  std::span<const float> span() const { return {data, size_t(rows) * cols}; }
  const float* row(uint32_t r) const { return data + size_t(r) * cols; }
};

// The linear layers of a block, in a fixed order used everywhere (recipes, containers, reports).
enum class Linear : uint32_t { Wq = 0, Wk, Wv, Wo, W1, W2, W3 };
inline constexpr uint32_t kLinearsPerLayer = 7;
const char* linear_name(Linear l);  // "wq", "wk", "wv", "wo", "w1", "w2", "w3"

struct LayerWeights {
  Matrix rms_att;  // [1 x dim]
  Matrix wq;       // [dim x dim]
  Matrix wk;       // [kv_dim x dim]
  Matrix wv;       // [kv_dim x dim]
  Matrix wo;       // [dim x dim]
  Matrix rms_ffn;  // [1 x dim]
  Matrix w1;       // [hidden x dim] gate
  Matrix w2;       // [dim x hidden] down
  Matrix w3;       // [hidden x dim] up
  const Matrix& linear(Linear l) const;
};

struct ModelWeights {
  Matrix token_embedding;  // [vocab x dim]
  std::vector<LayerWeights> layers;
  Matrix rms_final;        // [1 x dim]
  Matrix classifier;       // [vocab x dim]; same data as token_embedding when shared
};

class Model {
 public:
  ModelConfig config;
  ModelWeights weights;
  std::string source;  // file it was loaded from

  // Storage keeps the floats alive (a memory map, or owned vectors); set by loaders.
  std::shared_ptr<const void> storage;

  // A copy with owned storage (for editing weights, e.g. rotation or tests).
  Model clone() const;
  // Total parameters (the shared classifier counted once).
  uint64_t parameter_count() const;
};

// Throws FileError naming `what` unless every matrix of `m` has the shape its config implies and
// holds data.
void check_shapes(const Model& m, const std::string& what);

}  // namespace bitlens::model
