// Upload of a PackedModel, activation and cache allocation, and the host side of the Vulkan
// forward pass (writing inputs, replaying recordings, returning logits). The recording itself is
// in vulkan_forward_record.cpp.
#include "model/vulkan_forward.h"

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "params/step.h"

namespace bitlens::model {

namespace {

uint32_t stride4(uint32_t n) { return kernels::activation_stride(n); }

// Throws unless `m` is [rows x cols].
void check_shape(const quant::PackedMatrix& m, uint32_t rows, uint32_t cols, const std::string& what) {
  if (m.layout.rows != rows || m.layout.cols != cols)
    throw Error("packed model: " + what + " is " + m.layout.describe() + ", expected " + std::to_string(rows) + "x" +
                std::to_string(cols));
}

void check_model(const PackedModel& m) {
  const ModelConfig& c = m.config;
  validate(c, "packed model");
  check_shape(m.token_embedding, c.vocab_size, c.dim, "token embedding");
  if (m.classifier) check_shape(*m.classifier, c.vocab_size, c.dim, "classifier");
  if (m.layers.size() != c.n_layers) throw Error("packed model: layer count does not match the configuration");
  if (m.rms_final.size() != c.dim) throw Error("packed model: rms_final has the wrong length");
  const uint32_t kv = c.kv_dim();
  const uint32_t rows[kLinearsPerLayer] = {c.dim, kv, kv, c.dim, c.hidden_dim, c.dim, c.hidden_dim};
  const uint32_t cols[kLinearsPerLayer] = {c.dim, c.dim, c.dim, c.dim, c.dim, c.hidden_dim, c.dim};
  for (size_t l = 0; l < m.layers.size(); ++l) {
    const PackedLayer& layer = m.layers[l];
    if (layer.rms_att.size() != c.dim || layer.rms_ffn.size() != c.dim)
      throw Error("packed model: layer " + std::to_string(l) + " has norm weights of the wrong length");
    for (uint32_t i = 0; i < kLinearsPerLayer; ++i)
      check_shape(layer.linears[i].weight, rows[i], cols[i],
                  "layer " + std::to_string(l) + " " + linear_name(Linear(i)));
  }
}

}  // namespace

VulkanForward::VulkanForward(kernels::Gpu& gpu, const PackedModel& model, const VulkanForwardOptions& options)
    : gpu_(&gpu), config_(model.config), options_(options) {
  check_model(model);
  const ModelConfig& c = config_;
  // Default batch: up to 256 tokens, fewer where their logits would exceed one buffer's range.
  const uint64_t logit_rows = std::max<uint64_t>(1, gpu.caps().max_storage_range / (uint64_t(c.vocab_size) * 4));
  max_batch_ = options.max_batch ? std::min(options.max_batch, c.seq_len)
                                 : uint32_t(std::min<uint64_t>({c.seq_len, 256, logit_rows}));
  dim_stride_ = stride4(c.dim);
  kv_stride_ = stride4(c.kv_dim());
  qkv_stride_ = dim_stride_ + 2 * kv_stride_;
  hidden_stride_ = stride4(c.hidden_dim);
  allocate_activations();

  const kernels::HeadShape heads{c.n_heads, c.n_kv_heads, c.head_dim()};
  cache_ = std::make_unique<kernels::KvCache>(gpu, heads, c.seq_len, c.n_layers, options.kv_cache);
  rope_table_ = std::make_unique<kernels::RopeTable>(gpu, c.head_dim(), c.seq_len, c.rope_theta);
  attention_scratch_ = std::make_unique<kernels::AttentionScratch>(gpu, heads, c.seq_len);

  embedding_ = std::make_unique<kernels::GpuMatrix>(gpu, model.token_embedding);
  if (model.classifier) classifier_matrix_ = std::make_unique<kernels::GpuMatrix>(gpu, *model.classifier);
  const kernels::GpuMatrix& out_matrix = classifier_matrix_ ? *classifier_matrix_ : *embedding_;
  embed_ = std::make_unique<kernels::EmbeddingLookup>(gpu, *embedding_, tokens_, x_);
  norm_ = std::make_unique<kernels::RmsNorm>(gpu, c.dim, c.norm_eps, x_, norms_, xb_);
  final_norm_ = std::make_unique<kernels::RmsNorm>(gpu, c.dim, c.norm_eps, x_, norms_, xf_);
  swiglu_ = std::make_unique<kernels::SwiGlu>(gpu, c.hidden_dim, h_);
  classifier_ = std::make_unique<kernels::MatMul>(gpu, out_matrix, xf_, logits_);
  if (options.fused_inputs) {
    fused_classifier_ = std::make_unique<kernels::MatMul>(gpu, out_matrix, x_, logits_, kernels::MatMulTuning{}, &norms_);
    if (!fused_classifier_->transforms_input()) fused_classifier_.reset();
  }

  std::vector<float> norms(size_t(2 * c.n_layers + 1) * dim_stride_, 0.0f);
  for (uint32_t l = 0; l < c.n_layers; ++l) {
    std::copy(model.layers[l].rms_att.begin(), model.layers[l].rms_att.end(), norms.begin() + size_t(2 * l) * dim_stride_);
    std::copy(model.layers[l].rms_ffn.begin(), model.layers[l].rms_ffn.end(),
              norms.begin() + size_t(2 * l + 1) * dim_stride_);
  }
  std::copy(model.rms_final.begin(), model.rms_final.end(), norms.begin() + size_t(2 * c.n_layers) * dim_stride_);
  norms_.upload(norms.data(), norms.size() * 4);
  build_layers(model);
}

VulkanForward::~VulkanForward() = default;

std::unique_ptr<VulkanForward> VulkanForward::create(const PackedModel& model, const VulkanForwardOptions& options) {
  auto gpu = std::make_unique<kernels::Gpu>();
  auto forward = std::make_unique<VulkanForward>(*gpu, model, options);
  forward->owned_gpu_ = std::move(gpu);
  return forward;
}

void VulkanForward::allocate_activations() {
  const ModelConfig& c = config_;
  vk::Context& ctx = gpu_->ctx();
  // Every activation buffer spans at least the uniform range, so that all mat-vec kernels read
  // their input through one uniform-block size (one pipeline per format).
  const uint64_t min_bytes = gpu_->caps().max_uniform_range;
  auto activations = [&](uint64_t floats) { return vk::Buffer(ctx, std::max<uint64_t>(floats * 4, min_bytes)); };
  const uint64_t b = max_batch_;
  x_ = activations(b * dim_stride_);
  xb_ = activations(b * dim_stride_);
  qkv_ = activations(b * qkv_stride_);
  att_ = activations(b * dim_stride_);
  h_ = activations(b * 2 * hidden_stride_);
  xf_ = activations(b * dim_stride_);
  const uint64_t logits_bytes = b * c.vocab_size * 4;
  if (logits_bytes > gpu_->caps().max_storage_range)
    throw UnsupportedError("logits of " + std::to_string(b) + " tokens exceed this device's buffer range; lower max_batch");
  logits_ = vk::Buffer(ctx, logits_bytes);
  norms_ = vk::Buffer(ctx, uint64_t(2 * c.n_layers + 1) * dim_stride_ * 4);
  // Rotated inputs keep the row stride of their input (h_ rows hold gate and up).
  rotation_scratch_ = std::make_unique<RotationScratch>(
      *gpu_, std::max<uint64_t>(b * std::max(dim_stride_, 2 * hidden_stride_) * 4, min_bytes));

  step_ = vk::Buffer(ctx, 16);
  tokens_ = vk::Buffer(ctx, b * 4);
  staged_ = options_.staged_io || !step_.mapped() || !tokens_.mapped() || !logits_.mapped();
  if (staged_) {
    host_in_ = vk::Buffer(ctx, 16 + b * 4, vk::MemoryKind::Staging);
    host_out_ = vk::Buffer(ctx, logits_bytes, vk::MemoryKind::Staging);
  }
}

uint64_t VulkanForward::weight_bytes() const {
  uint64_t b = embedding_->bytes() + (classifier_matrix_ ? classifier_matrix_->bytes() : 0) + norms_.size();
  for (const Layer& l : layers_) b += l.qkv->weight_bytes() + l.wo->weight_bytes() + l.ffn->weight_bytes() + l.w2->weight_bytes();
  return b;
}

uint64_t VulkanForward::bytes_per_token(uint32_t context) const {
  const ModelConfig& c = config_;
  const uint64_t embedding_row = embedding_->bytes() / c.vocab_size;
  const uint64_t output = classifier_matrix_ ? classifier_matrix_->bytes() + embedding_row : embedding_->bytes();
  const uint64_t cache_row = cache_->row_bytes();
  return weight_bytes() - embedding_->bytes() - (classifier_matrix_ ? classifier_matrix_->bytes() : 0) + output +
         uint64_t(c.n_layers) * 2 * cache_row * std::min(context, c.seq_len);
}

void VulkanForward::assume_cached(uint32_t positions) {
  if (positions > config_.seq_len)
    throw Error("assume_cached: " + std::to_string(positions) + " positions exceed the model's context of " +
                std::to_string(config_.seq_len));
  if (!cache_zeroed_) {
    for (uint32_t l = 0; l < cache_->layers(); ++l) {
      cache_->keys(l).fill(0);
      cache_->values(l).fill(0);
    }
    cache_zeroed_ = true;
  }
  filled_ = positions;
}

std::span<const float> VulkanForward::prefill(std::span<const uint32_t> tokens, uint32_t start_pos, bool all_logits) {
  const ModelConfig& c = config_;
  if (tokens.empty()) throw Error("prefill: no tokens");
  if (uint64_t(start_pos) + tokens.size() > c.seq_len)
    throw Error("prefill: positions up to " + std::to_string(uint64_t(start_pos) + tokens.size()) +
                " exceed the model's context of " + std::to_string(c.seq_len));
  if (start_pos > filled_)
    throw Error("prefill: position " + std::to_string(start_pos) + " follows only " + std::to_string(filled_) +
                " cached positions");
  for (uint32_t t : tokens)
    if (t >= c.vocab_size)
      throw Error("prefill: token " + std::to_string(t) + " is outside the vocabulary of " + std::to_string(c.vocab_size));
  const size_t n = tokens.size(), vocab = c.vocab_size;
  if (n <= max_batch_) {
    run(tokens, start_pos, all_logits && n > 1 ? Logits::All : Logits::Last);
    return {logits_data(), (all_logits ? n : 1) * vocab};
  }
  if (all_logits) all_logits_.resize(n * vocab);
  for (size_t i = 0; i < n; i += max_batch_) {
    const size_t len = std::min<size_t>(max_batch_, n - i);
    const bool last = i + len == n;
    run(tokens.subspan(i, len), uint32_t(start_pos + i),
        all_logits ? (len > 1 ? Logits::All : Logits::Last) : (last ? Logits::Last : Logits::None));
    if (all_logits) std::memcpy(&all_logits_[i * vocab], logits_data(), len * vocab * 4);
  }
  if (all_logits) return all_logits_;
  return {logits_data(), vocab};
}

const float* VulkanForward::logits_data() const {
  return static_cast<const float*>(staged_ ? host_out_.mapped() : logits_.mapped());
}

void VulkanForward::run(std::span<const uint32_t> tokens, uint32_t pos0, Logits mode) {
  const uint32_t n = uint32_t(tokens.size());
  kernels::Recording& rec = recording(n, mode);
  const kernels::StepState step{pos0};
  uint8_t* in = static_cast<uint8_t*>(staged_ ? host_in_.mapped() : nullptr);
  std::memcpy(in ? in : step_.mapped(), &step, sizeof(step));
  std::memcpy(in ? in + 16 : tokens_.mapped(), tokens.data(), n * 4);
  rec.submit_and_wait();
  if (options_.profile) rec.add_times(profile_);
  filled_ = pos0 + n;
}

}  // namespace bitlens::model
