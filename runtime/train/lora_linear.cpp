// ApiQ's trainable quantized linear layer (see lora_linear.h).
#include "train/lora_linear.h"

#include <cmath>
#include <random>

#include "common/error.h"
#include "common/fp16.h"
#include "common/parallel.h"
#include "train/gemm.h"

namespace bitlens::train {

LoraLinear::LoraLinear(const float* w, size_t out, size_t in, const LoraLinearConfig& config, uint64_t seed)
    : w_(w), out_(out), in_(in), config_(config), quantizer_(w, out, in, config.bits, config.group_size),
      hi_(quantizer_.parameters(), clip_logit(config.clip_init)), lo_(hi_), a_(size_t(config.rank) * in, 0.0f),
      b_(out * config.rank, 0.0f), ghi_(hi_.size()), glo_(lo_.size()), ga_(a_.size()), gb_(b_.size()),
      opt_hi_(hi_.size()), opt_lo_(lo_.size()), opt_a_(a_.size()), opt_b_(b_.size()), q_(out * in),
      w_eff_(out * in) {
  // LoRA's initialization (Kaiming-uniform A as PEFT draws it, B = 0): W_eff starts at Q(W).
  std::mt19937_64 rng(seed);
  const double bound = 1.0 / std::sqrt(double(in));
  for (float& v : a_) v = float((double(rng() >> 11) * 0x1.0p-53 * 2.0 - 1.0) * bound);
}

const float* LoraLinear::build() {
  quantizer_.quantize(hi_.data(), lo_.data(), q_.data());
  w_eff_ = q_;
  if (config_.rank) {
    scaled_b_.resize(b_.size());
    for (size_t i = 0; i < b_.size(); ++i) scaled_b_[i] = lora_scale() * b_[i];
    gemm_nn(out_, in_, config_.rank, scaled_b_.data(), a_.data(), w_eff_.data(), true);
  }
  return w_eff_.data();
}

double LoraLinear::regularizer(const float* saliency, RegularizerPlace place) const {
  const float* x = place == RegularizerPlace::AfterLora ? w_eff_.data() : q_.data();
  std::vector<double> row(out_, 0.0);
  parallel_for(out_, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r)
      for (size_t c = r * in_; c < (r + 1) * in_; ++c) {
        const double e = double(x[c]) - w_[c];
        row[r] += double(saliency[c]) * e * e;
      }
  }, 16);
  double sum = 0.0;
  for (double v : row) sum += v;
  return sum;
}

void LoraLinear::backward(const float* dw_eff, const float* saliency, float weight, RegularizerPlace place) {
  const size_t n = out_ * in_;
  std::vector<float>&d_eff = d_eff_, &d_q = d_q_;
  d_eff.assign(dw_eff, dw_eff + n);
  if (saliency) {
    // d(weight * R) = 2 weight s (X - W), into W_eff (and through it everything) or into Q(W) only.
    const bool after = place == RegularizerPlace::AfterLora;
    const float* x = after ? w_eff_.data() : q_.data();
    d_q = d_eff;
    std::vector<float>& target = after ? d_eff : d_q;
    parallel_for(n, [&](size_t a, size_t b) {
      for (size_t c = a; c < b; ++c) target[c] += 2.0f * weight * saliency[c] * (x[c] - w_[c]);
    }, 1 << 14);
    if (after) d_q = d_eff;
  }
  quantizer_.backward(saliency ? d_q.data() : d_eff.data(), ghi_.data(), glo_.data());
  if (config_.rank) {
    // W_eff = Q + s B A: dB = s dW A^T, dA = s B^T dW.
    gemm_nt(out_, config_.rank, in_, d_eff.data(), a_.data(), gb_.data(), false);
    gemm_tn(config_.rank, in_, out_, b_.data(), d_eff.data(), ga_.data(), false);
    for (float& g : gb_) g *= lora_scale();
    for (float& g : ga_) g *= lora_scale();
  }
}

void LoraLinear::step(const AdamWConfig& clip, const AdamWConfig& lora) {
  opt_hi_.step(hi_, ghi_, clip);
  opt_lo_.step(lo_, glo_, clip);
  if (config_.rank) {
    opt_a_.step(a_, ga_, lora);
    opt_b_.step(b_, gb_, lora);
  }
}

quant::PackedLinear LoraLinear::pack() const {
  quant::PackedLinear p;
  p.weight = quant::pack(quantizer_.quantized(hi_.data(), lo_.data()));
  if (config_.rank) {
    p.lora_rank = config_.rank;
    p.lora_scale = lora_scale();
    p.lora_a.resize(a_.size());
    p.lora_b.resize(b_.size());
    for (size_t i = 0; i < a_.size(); ++i) p.lora_a[i] = float_to_half(a_[i]);
    for (size_t i = 0; i < b_.size(); ++i) p.lora_b[i] = float_to_half(b_[i]);
  }
  return p;
}

}  // namespace bitlens::train
