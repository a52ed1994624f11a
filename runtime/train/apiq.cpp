// ApiQ block-wise training driver (see apiq.h).
#include "train/apiq.h"

#include <chrono>
#include <cstring>
#include <memory>

#include "common/error.h"
#include "common/parallel.h"
#include "model/float_model.h"
#include "quant/packing.h"
#include "train/block.h"

namespace bitlens::train {

namespace {

using model::Linear;
using model::kLinearsPerLayer;

constexpr size_t kForwardChunk = 8;  // sequences per forward-only pass

// y = Block(x) over all calibration sequences, a few at a time.
void forward_all(const Block& block, const BlockWeights& w, size_t n_seq, size_t seq_len, const float* x, float* y) {
  const size_t dim = block.config().dim;
  BlockActivations acts;
  for (size_t s = 0; s < n_seq; s += kForwardChunk) {
    const size_t n = std::min(kForwardChunk, n_seq - s), off = s * seq_len * dim;
    block.forward(w, {n, seq_len}, x + off, y + off, acts);
  }
}

double mean_squared_error(const float* a, const float* b, size_t n) {
  std::vector<double> part((n + 4095) / 4096, 0.0);
  parallel_for(part.size(), [&](size_t p0, size_t p1) {
    for (size_t p = p0; p < p1; ++p)
      for (size_t i = p * 4096; i < std::min(n, (p + 1) * 4096); ++i) {
        const double d = double(a[i]) - b[i];
        part[p] += d * d;
      }
  });
  double sum = 0.0;
  for (double v : part) sum += v;
  return sum / double(n);
}

// dy += k (y - target)
void add_mse_gradient(const float* y, const float* target, size_t n, float k, float* dy) {
  parallel_for(n, [&](size_t a, size_t b) {
    for (size_t i = a; i < b; ++i) dy[i] += k * (y[i] - target[i]);
  }, 1 << 14);
}

uint64_t linear_seed(uint64_t seed, size_t layer, uint32_t linear) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * (layer * kLinearsPerLayer + linear + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// The trainable state of one block and one training step over a batch of sequences.
class BlockTrainer {
 public:
  BlockTrainer(const model::Model& m, size_t layer, const ApiqOptions& o, const GradientSaliency* saliency)
      : model_(m), layer_(layer), o_(o), block_(m.config) {
    const model::LayerWeights& lw = m.weights.layers[layer];
    for (uint32_t i = 0; i < kLinearsPerLayer; ++i) {
      const model::Matrix& w = lw.linear(Linear(i));
      const ApiqOptions::LinearQuant q = o.linear_quant.empty() ? ApiqOptions::LinearQuant{o.bits, o.group_size}
                                                                : o.linear_quant.at(layer)[i];
      LoraLinearConfig c{q.bits, q.group_size, o.rank, o.alpha, o.clip_init};
      linears_[i] = std::make_unique<LoraLinear>(w.data, w.rows, w.cols, c, linear_seed(o.seed, layer, i));
      weights_ += size_t(w.rows) * w.cols;
    }
    if (o.regularizer != SaliencyRegularizer::None) normalise_saliency(*saliency);
  }

  // Losses at the current parameters; with targets_aug null the aug term is skipped. When `train`
  // is set, also takes one optimizer step.
  EpochLoss step(BatchShape shape, const float* x, const float* target_fp, const float* target_aug, bool train) {
    BlockWeights w = block_weights(model_, layer_);
    for (uint32_t i = 0; i < kLinearsPerLayer; ++i) w.linear[i] = linears_[i]->build();
    const size_t n = shape.tokens() * model_.config.dim;
    std::vector<float>& y = y_;
    y.resize(n);
    block_.forward(w, shape, x, y.data(), acts_);
    EpochLoss l;
    l.mse_fp = mean_squared_error(y.data(), target_fp, n);
    if (target_aug) l.mse_aug = mean_squared_error(y.data(), target_aug, n);
    for (uint32_t i = 0; i < kLinearsPerLayer; ++i)
      if (!saliency_[i].empty()) l.reg += linears_[i]->regularizer(saliency_[i].data(), place()) / double(weights_);
    l.loss = o_.lambda_loss * (l.mse_fp + l.mse_aug) + o_.lambda_reg * l.reg;
    if (!train) return l;

    std::vector<float>& dy = dy_;
    dy.assign(n, 0.0f);
    const float k = 2.0f * o_.lambda_loss / float(n);
    add_mse_gradient(y.data(), target_fp, n, k, dy.data());
    if (target_aug) add_mse_gradient(y.data(), target_aug, n, k, dy.data());
    std::array<float*, kLinearsPerLayer> dwp{};
    for (uint32_t i = 0; i < kLinearsPerLayer; ++i) {
      dw_[i].resize(linears_[i]->out() * linears_[i]->in());
      dwp[i] = dw_[i].data();
    }
    block_.backward(w, acts_, dy.data(), nullptr, dwp);
    const float reg_weight = o_.lambda_reg / float(weights_);
    for (uint32_t i = 0; i < kLinearsPerLayer; ++i) {
      linears_[i]->backward(dw_[i].data(), saliency_[i].empty() ? nullptr : saliency_[i].data(), reg_weight, place());
      linears_[i]->step(o_.clip_optimizer, o_.lora_optimizer);
    }
    return l;
  }

  quant::PackedLinear pack(uint32_t i) const { return linears_[i]->pack(); }

 private:
  RegularizerPlace place() const {
    return o_.regularizer == SaliencyRegularizer::BeforeLora ? RegularizerPlace::BeforeLora
                                                              : RegularizerPlace::AfterLora;
  }

  void normalise_saliency(const GradientSaliency& s) {
    double sum = 0.0;
    for (uint32_t i = 0; i < kLinearsPerLayer; ++i)
      for (float v : s.at(layer_, Linear(i))) sum += v;
    if (!(sum > 0.0)) throw Error("apiq: the gradient saliency of layer " + std::to_string(layer_) + " is all zero");
    const float inv_mean = float(double(weights_) / sum);
    for (uint32_t i = 0; i < kLinearsPerLayer; ++i) {
      const std::vector<float>& g2 = s.at(layer_, Linear(i));
      if (g2.size() != linears_[i]->out() * linears_[i]->in())
        throw Error("apiq: the gradient saliency does not match the model's shapes");
      saliency_[i].resize(g2.size());
      for (size_t j = 0; j < g2.size(); ++j) saliency_[i][j] = g2[j] * inv_mean;
    }
  }

  const model::Model& model_;
  size_t layer_;
  const ApiqOptions& o_;
  Block block_;
  std::array<std::unique_ptr<LoraLinear>, kLinearsPerLayer> linears_;
  std::array<std::vector<float>, kLinearsPerLayer> saliency_;  // normalised to mean 1 over the block
  size_t weights_ = 0;
  BlockActivations acts_;  // buffers reused from step to step
  std::vector<float> y_, dy_;
  std::array<std::vector<float>, kLinearsPerLayer> dw_;
};

void check_options(const model::Model& m, std::span<const uint32_t> tokens, size_t seq_len, const ApiqOptions& o,
                   const GradientSaliency* saliency) {
  if (seq_len == 0 || seq_len > m.config.seq_len || tokens.empty() || tokens.size() % seq_len)
    throw Error("apiq: " + std::to_string(tokens.size()) + " calibration tokens do not make sequences of " +
                std::to_string(seq_len) + " (context " + std::to_string(m.config.seq_len) + ")");
  for (uint32_t t : tokens)
    if (t >= m.config.vocab_size) throw Error("apiq: calibration token " + std::to_string(t) + " outside the vocabulary");
  if (o.batch_seqs == 0) throw Error("apiq: batch_seqs must be at least 1");
  if (!o.linear_quant.empty() && o.linear_quant.size() != m.config.n_layers)
    throw Error("apiq: linear_quant has " + std::to_string(o.linear_quant.size()) + " layers, the model " +
                std::to_string(m.config.n_layers));
  if (o.regularizer != SaliencyRegularizer::None && (!saliency || saliency->squared.size() != m.config.n_layers))
    throw Error("apiq: the saliency regularizer needs the gradient saliency of every layer");
}

}  // namespace

ApiqResult apiq_quantize(const model::Model& m, std::span<const uint32_t> tokens, size_t seq_len,
                         const ApiqOptions& o, const GradientSaliency* saliency,
                         const std::function<void(const EpochLoss&)>& progress, const Cancellation* cancel) {
  check_options(m, tokens, seq_len, o, saliency);
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  const model::ModelConfig& c = m.config;
  const size_t n_seq = tokens.size() / seq_len, dim = c.dim, n = tokens.size() * dim;

  ApiqResult r;
  r.model.config = c;
  r.model.token_embedding = model::pack_matrix(m.weights.token_embedding, o.embedding_format, o.embedding_group_size);
  if (m.weights.classifier.data != m.weights.token_embedding.data)
    r.model.classifier = model::pack_matrix(m.weights.classifier, o.embedding_format, o.embedding_group_size);
  r.model.rms_final.assign(m.weights.rms_final.span().begin(), m.weights.rms_final.span().end());

  // The quantized model starts from its own (possibly quantized) embedding rows.
  std::vector<float> x_fp(n), x_q(n), y_fp(n), y_aug(o.aug_loss ? n : 0);
  const std::vector<float> embedding_q = quant::dequantize(r.model.token_embedding);
  for (size_t t = 0; t < tokens.size(); ++t) {
    std::memcpy(&x_fp[t * dim], m.weights.token_embedding.row(tokens[t]), dim * sizeof(float));
    std::memcpy(&x_q[t * dim], &embedding_q[size_t(tokens[t]) * dim], dim * sizeof(float));
  }
  const Block block(c);
  for (size_t layer = 0; layer < c.n_layers; ++layer) {
    const BlockWeights fp = block_weights(m, layer);
    forward_all(block, fp, n_seq, seq_len, x_fp.data(), y_fp.data());
    if (o.aug_loss) forward_all(block, fp, n_seq, seq_len, x_q.data(), y_aug.data());
    BlockTrainer trainer(m, layer, o, saliency);
    for (uint32_t epoch = 0; epoch <= o.epochs; ++epoch) {
      EpochLoss sum;
      size_t batches = 0;
      for (size_t s = 0; s < n_seq; s += o.batch_seqs, ++batches) {
        if (cancel) cancel->check("training block " + std::to_string(layer) + " (apiq)");
        const size_t b = std::min<size_t>(o.batch_seqs, n_seq - s), off = s * seq_len * dim;
        const EpochLoss l = trainer.step({b, seq_len}, &x_q[off], &y_fp[off], o.aug_loss ? &y_aug[off] : nullptr,
                                         epoch > 0);
        sum.loss += l.loss;
        sum.mse_fp += l.mse_fp;
        sum.mse_aug += l.mse_aug;
        sum.reg += l.reg;
      }
      EpochLoss e{uint32_t(layer), epoch, sum.loss / double(batches), sum.mse_fp / double(batches),
                  sum.mse_aug / double(batches), sum.reg / double(batches), elapsed()};
      r.curve.push_back(e);
      if (progress) progress(e);
    }
    // The block as the runtime will run it feeds the next one.
    model::PackedLayer packed;
    packed.rms_att.assign(fp.rms_att, fp.rms_att + dim);
    packed.rms_ffn.assign(fp.rms_ffn, fp.rms_ffn + dim);
    std::array<std::vector<float>, kLinearsPerLayer> runtime;
    BlockWeights q = fp;
    for (uint32_t i = 0; i < kLinearsPerLayer; ++i) {
      packed.linears[i] = trainer.pack(i);
      runtime[i] = quant::effective_weight(packed.linears[i]);
      q.linear[i] = runtime[i].data();
    }
    r.model.layers.push_back(std::move(packed));
    std::vector<float> next(n);
    forward_all(block, q, n_seq, seq_len, x_q.data(), next.data());
    r.final_mse.push_back(mean_squared_error(next.data(), y_fp.data(), n));
    x_q.swap(next);
    x_fp.swap(y_fp);
  }
  r.seconds = elapsed();
  return r;
}

}  // namespace bitlens::train
