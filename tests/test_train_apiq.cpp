// ApiQ block-wise training and gradient saliency on the synthetic model: the loss falls, a trained
// block beats round-to-nearest at the same bits, training is deterministic for a seed, the
// saliency regularizer pulls salient weights toward their fp32 values, and bad input is refused.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "common/error.h"
#include "common/fp16.h"
#include "gpu_test.h"
#include "model/float_model.h"
#include "quant/packing.h"
#include "synthetic_model.h"
#include "train/apiq.h"
#include "train/block.h"
#include "train/gradient_saliency.h"

using namespace bitlens;
using namespace bitlens::train;
using model::Linear;
using test::random_tokens;

namespace {

// Settings that train visibly within a few epochs on the tiny model.
ApiqOptions fast_options(uint64_t seed) {
  ApiqOptions o;
  o.epochs = 6;
  o.seed = seed;
  o.lora_optimizer.lr = 5e-3f;
  o.clip_optimizer.lr = 5e-2f;
  return o;
}

std::vector<float> embed(const model::Model& m, const std::vector<uint32_t>& tokens) {
  std::vector<float> x(tokens.size() * m.config.dim);
  for (size_t t = 0; t < tokens.size(); ++t)
    std::memcpy(&x[t * m.config.dim], m.weights.token_embedding.row(tokens[t]), m.config.dim * 4);
  return x;
}

double mse(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return s / double(a.size());
}

}  // namespace

TEST(Apiq, LossFallsAndTheTrainedBlockBeatsRoundToNearest) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const model::Model m = test::synthetic_model(test::small_config(), seed);
  const size_t S = m.config.seq_len, n_seq = 8;
  const auto tokens = random_tokens(n_seq * S, m.config.vocab_size, seed);
  for (uint32_t rank : {4u, 0u}) {  // with LoRA, and learnable clipping alone
    ApiqOptions o = fast_options(seed);
    o.rank = rank;
    const ApiqResult r = apiq_quantize(m, tokens, S, o, nullptr);
    ASSERT_EQ(r.curve.size(), size_t(m.config.n_layers) * (o.epochs + 1));
    for (uint32_t b = 0; b < m.config.n_layers; ++b) {
      const EpochLoss& first = r.curve[b * (o.epochs + 1)];
      const EpochLoss& last = r.curve[b * (o.epochs + 1) + o.epochs];
      EXPECT_EQ(first.epoch, 0u);
      // Later blocks carry the error of the earlier ones in their inputs, which no training of
      // theirs removes: a clear drop is required of block 0, a drop of the others.
      EXPECT_LT(last.loss, (b == 0 ? 0.8 : 1.0) * first.loss) << "rank " << rank << " block " << b;
    }
    // Block 0 on the same inputs: the trained packed block against RTN at 2 bits, group 64.
    const Block block(m.config);
    const auto x = embed(m, tokens);
    std::vector<float> y_fp(x.size()), y_rtn(x.size()), y_apiq(x.size());
    BlockWeights w = block_weights(m, 0), rtn = w, apiq = w;
    BlockActivations acts;
    block.forward(w, {n_seq, S}, x.data(), y_fp.data(), acts);
    std::array<std::vector<float>, model::kLinearsPerLayer> wr, wa;
    for (uint32_t i = 0; i < model::kLinearsPerLayer; ++i) {
      const model::Matrix& mat = m.weights.layers[0].linear(Linear(i));
      wr[i] = quant::dequantize(quant::quantize_rtn(mat.span(), mat.rows, mat.cols, 2, 64));
      wa[i] = quant::effective_weight(r.model.layers[0].linear(Linear(i)));
      rtn.linear[i] = wr[i].data();
      apiq.linear[i] = wa[i].data();
    }
    block.forward(rtn, {n_seq, S}, x.data(), y_rtn.data(), acts);
    block.forward(apiq, {n_seq, S}, x.data(), y_apiq.data(), acts);
    EXPECT_NEAR(mse(y_apiq, y_fp), r.final_mse[0], 1e-4 * r.final_mse[0]);
    EXPECT_LT(mse(y_apiq, y_fp), 0.7 * mse(y_rtn, y_fp)) << "rank " << rank;
  }
}

TEST(Apiq, QuantizedModelStartsFromItsPackedEmbedding) {
  // With a 4-bit embedding, block 0 of the quantized model sees dequantized embedding rows; the
  // reported final error is that of the packed block on those inputs against the fp32 path.
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const model::Model m = test::synthetic_model(test::small_config(), seed);
  const size_t S = m.config.seq_len, n_seq = 4;
  const auto tokens = random_tokens(n_seq * S, m.config.vocab_size, seed);
  ApiqOptions o = fast_options(seed);
  o.epochs = 1;
  o.embedding_format = quant::Format::Q4;
  const ApiqResult r = apiq_quantize(m, tokens, S, o, nullptr);
  const model::Model q = model::to_float_model(r.model);
  const Block block(m.config);
  BlockActivations acts;
  const auto x_fp = embed(m, tokens), x_q = embed(q, tokens);
  EXPECT_NE(x_fp, x_q);
  std::vector<float> y_fp(x_fp.size()), y_q(x_q.size());
  block.forward(block_weights(m, 0), {n_seq, S}, x_fp.data(), y_fp.data(), acts);
  block.forward(block_weights(q, 0), {n_seq, S}, x_q.data(), y_q.data(), acts);
  EXPECT_NEAR(mse(y_q, y_fp), r.final_mse[0], 1e-4 * r.final_mse[0]);
}

TEST(Apiq, TrainingIsDeterministicForASeed) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const model::Model m = test::synthetic_model(test::small_config(), seed);
  const auto tokens = random_tokens(4 * m.config.seq_len, m.config.vocab_size, seed);
  const GradientSaliency sal = gradient_saliency(m, tokens, m.config.seq_len);
  ApiqOptions o = fast_options(seed);
  o.epochs = 2;
  o.batch_seqs = 2;
  o.regularizer = SaliencyRegularizer::AfterLora;
  const ApiqResult a = apiq_quantize(m, tokens, m.config.seq_len, o, &sal);
  const ApiqResult b = apiq_quantize(m, tokens, m.config.seq_len, o, &sal);
  o.seed = seed + 1;
  const ApiqResult c = apiq_quantize(m, tokens, m.config.seq_len, o, &sal);
  for (size_t l = 0; l < m.config.n_layers; ++l)
    for (uint32_t i = 0; i < model::kLinearsPerLayer; ++i) {
      const quant::PackedLinear &pa = a.model.layers[l].linears[i], &pb = b.model.layers[l].linears[i];
      EXPECT_EQ(pa.weight.words, pb.weight.words);
      EXPECT_EQ(pa.lora_a, pb.lora_a);
      EXPECT_EQ(pa.lora_b, pb.lora_b);
      EXPECT_NE(pa.lora_a, c.model.layers[l].linears[i].lora_a);  // another seed draws another A
    }
  ASSERT_EQ(a.curve.size(), b.curve.size());
  for (size_t i = 0; i < a.curve.size(); ++i) {
    EXPECT_EQ(a.curve[i].loss, b.curve[i].loss);
    EXPECT_EQ(a.curve[i].reg, b.curve[i].reg);
  }
  EXPECT_EQ(a.final_mse, b.final_mse);
}

// A stop requested during training (here after block 0's first epoch) ends it at the next step
// with CancelledError, not after the remaining blocks.
TEST(Apiq, StopsAtTheNextStepWhenCancelled) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const model::Model m = test::synthetic_model(test::small_config(), seed);
  const auto tokens = random_tokens(4 * m.config.seq_len, m.config.vocab_size, seed);
  ApiqOptions o = fast_options(seed);
  o.epochs = 3;
  Cancellation cancel;
  std::vector<EpochLoss> seen;
  try {
    apiq_quantize(m, tokens, m.config.seq_len, o, nullptr, [&](const EpochLoss& e) {
      seen.push_back(e);
      if (seen.size() == 2) cancel.request();
    }, &cancel);
    ADD_FAILURE() << "training finished although it was cancelled";
  } catch (const CancelledError& e) {
    EXPECT_NE(std::string(e.what()).find("training block 0 (apiq)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(seen.size(), 2u);  // epoch 0 (the start) and epoch 1 of block 0, nothing after
}

TEST(Apiq, SaliencyRegularizerPullsSalientWeightsTowardFullPrecision) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const model::Model m = test::synthetic_model(test::small_config(), seed);
  const auto tokens = random_tokens(8 * m.config.seq_len, m.config.vocab_size, seed);
  const GradientSaliency sal = gradient_saliency(m, tokens, m.config.seq_len);
  // R of layer 0 with the saliency normalised to mean 1, for the runtime's effective weights.
  const auto regularizer = [&](const ApiqResult& r, bool after_lora) {
    double sum_g = 0.0, sum = 0.0;
    size_t n = 0;
    for (uint32_t i = 0; i < model::kLinearsPerLayer; ++i)
      for (float v : sal.at(0, Linear(i))) sum_g += v, ++n;
    for (uint32_t i = 0; i < model::kLinearsPerLayer; ++i) {
      const quant::PackedLinear& p = r.model.layers[0].linears[i];
      const auto x = after_lora ? quant::effective_weight(p) : quant::dequantize(p.weight);
      const auto w = m.weights.layers[0].linear(Linear(i)).span();
      const auto& g = sal.at(0, Linear(i));
      for (size_t j = 0; j < x.size(); ++j) sum += g[j] * double(n) / sum_g * (x[j] - w[j]) * (x[j] - w[j]);
    }
    return sum / double(n);
  };
  ApiqOptions o = fast_options(seed);
  // The regularizer alone: training must lower R well below its start (epoch 0) in both places.
  o.lambda_loss = 0.0f;
  o.lambda_reg = 1.0f;
  for (SaliencyRegularizer place : {SaliencyRegularizer::AfterLora, SaliencyRegularizer::BeforeLora}) {
    o.regularizer = place;
    const ApiqResult r = apiq_quantize(m, tokens, m.config.seq_len, o, &sal);
    const bool after = place == SaliencyRegularizer::AfterLora;
    EXPECT_LT(regularizer(r, after), 0.9 * r.curve[0].reg) << (after ? "after" : "before") << " LoRA";
  }
  // With the output losses, a dominant regularizer still ends with a lower R than none.
  o.lambda_loss = 1.0f;
  o.regularizer = SaliencyRegularizer::None;
  const ApiqResult plain = apiq_quantize(m, tokens, m.config.seq_len, o, nullptr);
  o.regularizer = SaliencyRegularizer::AfterLora;
  o.lambda_reg = 1e4f;
  const ApiqResult reg = apiq_quantize(m, tokens, m.config.seq_len, o, &sal);
  EXPECT_LT(regularizer(reg, true), regularizer(plain, true));
}

TEST(Apiq, RefusesBadInput) {
  const model::Model m = test::synthetic_model(test::small_config(), 1);
  const size_t S = m.config.seq_len;
  const auto tokens = random_tokens(2 * S, m.config.vocab_size, 1);
  ApiqOptions o;
  o.epochs = 1;
  EXPECT_THROW(apiq_quantize(m, {tokens.data(), 2 * S - 1}, S, o, nullptr), Error);  // ragged sequences
  EXPECT_THROW(apiq_quantize(m, tokens, 2 * S, o, nullptr), Error);                  // longer than the context
  auto bad = tokens;
  bad[3] = m.config.vocab_size;
  EXPECT_THROW(apiq_quantize(m, bad, S, o, nullptr), Error);
  o.regularizer = SaliencyRegularizer::AfterLora;
  EXPECT_THROW(apiq_quantize(m, tokens, S, o, nullptr), Error);  // regularizer without saliency
  o.regularizer = SaliencyRegularizer::None;
  o.group_size = 48;
  EXPECT_THROW(apiq_quantize(m, tokens, S, o, nullptr), Error);  // unsupported group size
}

TEST(GradientSaliency, IsTheSumOfSquaredPerSequenceGradients) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const model::Model m = test::synthetic_model(test::small_config(), seed);
  const size_t S = 20;
  const auto tokens = random_tokens(3 * S, m.config.vocab_size, seed);
  size_t calls = 0;
  const GradientSaliency s = gradient_saliency(m, tokens, S, [&](size_t done, size_t total) {
    EXPECT_EQ(done, ++calls);
    EXPECT_EQ(total, 3u);
  });
  EXPECT_EQ(s.sequences, 3u);
  LmGradient lm(m);
  LinearGradients g;
  std::vector<std::array<std::vector<double>, model::kLinearsPerLayer>> ref(m.config.n_layers);
  double loss = 0.0;
  for (size_t q = 0; q < 3; ++q) {
    loss += lm.loss({tokens.data() + q * S, S}, {1, S}, &g) / 3.0;
    for (size_t l = 0; l < m.config.n_layers; ++l)
      for (uint32_t i = 0; i < model::kLinearsPerLayer; ++i) {
        ref[l][i].resize(g[l][i].size());
        for (size_t j = 0; j < g[l][i].size(); ++j) ref[l][i][j] += double(g[l][i][j]) * g[l][i][j];
      }
  }
  EXPECT_NEAR(s.mean_loss, loss, 1e-9 * loss);
  for (size_t l = 0; l < m.config.n_layers; ++l)
    for (uint32_t i = 0; i < model::kLinearsPerLayer; ++i) {
      const auto& got = s.at(l, Linear(i));
      ASSERT_EQ(got.size(), ref[l][i].size());
      double total = 0.0;
      for (size_t j = 0; j < got.size(); ++j) {
        ASSERT_NEAR(got[j], ref[l][i][j], 1e-5 * ref[l][i][j] + 1e-30);
        total += got[j];
      }
      EXPECT_GT(total, 0.0);
    }
  EXPECT_THROW(gradient_saliency(m, {tokens.data(), 3 * S - 1}, S), Error);
}
