// The training engine on the real stories15M: its loss agrees with the CPU inference forward pass,
// gradient saliency covers every weight, and a short ApiQ run gives a 2-bit model much closer to
// the fp32 one than round-to-nearest does.
#include <gtest/gtest.h>

#include <cmath>

#include "eval/corpus.h"
#include "eval/perplexity.h"
#include "model/cpu_forward.h"
#include "model/float_model.h"
#include "model/model_loader.h"
#include "model_fixtures.h"
#include "train/apiq.h"
#include "train/gradient_saliency.h"
#include "train/lm_gradient.h"

using namespace bitlens;
using namespace bitlens::train;

namespace {

struct RealModel {
  model::Model model = model::load_model(test::stories15m_path());
  model::Tokenizer tokenizer = model::load_tokenizer_for(model, "");
  // Windows of `len` tokens, BOS first, from Moby Dick chapters 21 on (the evaluation uses 1-20).
  std::vector<uint32_t> windows(size_t n, size_t len) const {
    const auto ids = tokenizer.encode(eval::moby_dick_text(test::data_path("texts/moby-dick"), 21, 22), true, false);
    std::vector<uint32_t> out;
    for (size_t w = 0; w < n; ++w) {
      out.push_back(tokenizer.bos());
      out.insert(out.end(), ids.begin() + w * len + 1, ids.begin() + (w + 1) * len);
    }
    return out;
  }
};

// Mean KL(fp32 || test) over every position of windows of `len` tokens.
double mean_kl(model::Forward& ref, model::Forward& test, const std::vector<uint32_t>& tokens, size_t len) {
  double kl = 0.0;
  size_t n = 0;
  for (size_t w = 0; w < tokens.size() / len; ++w) {
    const std::span<const uint32_t> win(tokens.data() + w * len, len);
    ref.reset();
    test.reset();
    const auto a = ref.prefill(win, 0, true);
    const std::vector<float> ra(a.begin(), a.end());
    const auto b = test.prefill(win, 0, true);
    const size_t vocab = ref.config().vocab_size;
    for (size_t p = 0; p < len; ++p, ++n)
      kl += eval::kl_divergence({ra.data() + p * vocab, vocab}, {b.data() + p * vocab, vocab});
  }
  return kl / double(n);
}

}  // namespace

TEST(TrainReal, LossMatchesTheCpuForwardPass) {
  const RealModel r;
  const size_t len = 256;
  const auto tokens = r.windows(2, len);
  LmGradient lm(r.model);
  const double loss = lm.loss(tokens, {2, len}, nullptr);
  model::CpuForward f(r.model);
  double nll = 0.0;
  for (size_t w = 0; w < 2; ++w) {
    f.reset();
    const std::span<const uint32_t> win(tokens.data() + w * len, len);
    const auto logits = f.prefill(win, 0, true);
    for (size_t p = 0; p + 1 < len; ++p)
      nll -= eval::log_prob(logits.subspan(p * 32000, 32000), win[p + 1]);
  }
  EXPECT_NEAR(loss, nll / double(2 * (len - 1)), 1e-4 * loss);  // fp32 sums in another order
}

TEST(TrainReal, GradientSaliencyCoversEveryLinear) {
  const RealModel r;
  const GradientSaliency s = gradient_saliency(r.model, r.windows(2, 128), 128);
  ASSERT_EQ(s.squared.size(), 6u);
  EXPECT_GT(s.mean_loss, 1.0);
  for (size_t l = 0; l < 6; ++l)
    for (uint32_t i = 0; i < model::kLinearsPerLayer; ++i) {
      const auto& g = s.at(l, model::Linear(i));
      double sum = 0.0;
      size_t zeros = 0;
      for (float v : g) {
        ASSERT_TRUE(std::isfinite(v));
        sum += v;
        zeros += v == 0.0f;
      }
      EXPECT_GT(sum, 0.0) << "layer " << l << " " << model::linear_name(model::Linear(i));
      EXPECT_LT(zeros, g.size() / 100) << "layer " << l << " " << model::linear_name(model::Linear(i));
    }
}

TEST(TrainReal, ShortApiqRunBeatsRoundToNearestAtTwoBits) {
  const RealModel r;
  const size_t len = 64;
  ApiqOptions o;
  o.epochs = 3;
  o.lora_optimizer.lr = 5e-3f;
  o.clip_optimizer.lr = 5e-2f;
  const ApiqResult q = apiq_quantize(r.model, r.windows(8, len), len, o, nullptr);
  EXPECT_NEAR(q.model.linear_bpw(), 2.9, 0.1);  // 2-bit codes, fp16 group parameters, rank-4 LoRA
  model::CpuForward ref(r.model), apiq(model::to_float_model(q.model)),
      rtn(model::to_float_model(model::pack_model(r.model, {quant::Format::Q2, 64})));
  // Held-out text: chapters 21-22 after the calibration windows.
  const auto all = r.windows(12, len);
  const std::vector<uint32_t> held(all.begin() + 8 * len, all.end());
  const double kl_apiq = mean_kl(ref, apiq, held, len), kl_rtn = mean_kl(ref, rtn, held, len);
  EXPECT_LT(kl_apiq, 0.7 * kl_rtn) << "apiq " << kl_apiq << " rtn " << kl_rtn;
}
