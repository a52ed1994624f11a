// Training-engine benchmarks (Google Benchmark) at stories15M's shapes (dim 288, hidden 768, 6 heads,
// context 256, vocab 32000) with random weights: the GEMM in the three forms training uses, one
// block's forward and backward over a batch, one ApiQ optimizer step of a block, and the full-model
// loss and gradient of one sequence (gradient saliency's unit of work). Reported as GFLOP/s or
// tokens/s; run on an idle machine, the 2 cores are shared otherwise.
//
//   ./build/bench/bitlens_bench --benchmark_filter=Train
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <vector>

#include "model/weights.h"
#include "train/block.h"
#include "train/gemm.h"
#include "train/lm_gradient.h"
#include "train/lora_linear.h"

using namespace bitlens;

namespace {

std::vector<float> random_floats(size_t n, float sd, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, sd);
  std::vector<float> v(n);
  for (float& x : v) x = nd(rng);
  return v;
}

// A stories15M-shaped model with random weights (speed does not depend on the values).
model::Model random_model(uint32_t layers) {
  struct Storage {
    std::vector<std::vector<float>> blocks;
  };
  auto st = std::make_shared<Storage>();
  model::Model m;
  m.config.dim = 288;
  m.config.hidden_dim = 768;
  m.config.n_layers = layers;
  m.config.n_heads = m.config.n_kv_heads = 6;
  m.config.vocab_size = 32000;
  m.config.seq_len = 256;
  uint64_t seed = 1;
  const auto mat = [&](uint32_t rows, uint32_t cols, float sd) {
    st->blocks.push_back(random_floats(size_t(rows) * cols, sd, seed++));
    if (sd == 0.0f) std::fill(st->blocks.back().begin(), st->blocks.back().end(), 1.0f);
    return model::Matrix{st->blocks.back().data(), rows, cols};
  };
  const model::ModelConfig& c = m.config;
  m.weights.token_embedding = mat(c.vocab_size, c.dim, 1.0f);
  for (uint32_t l = 0; l < layers; ++l) {
    model::LayerWeights w;
    w.rms_att = mat(1, c.dim, 0.0f);
    w.rms_ffn = mat(1, c.dim, 0.0f);
    w.wq = mat(c.dim, c.dim, 0.06f);
    w.wk = mat(c.dim, c.dim, 0.06f);
    w.wv = mat(c.dim, c.dim, 0.06f);
    w.wo = mat(c.dim, c.dim, 0.06f);
    w.w1 = mat(c.hidden_dim, c.dim, 0.06f);
    w.w2 = mat(c.dim, c.hidden_dim, 0.04f);
    w.w3 = mat(c.hidden_dim, c.dim, 0.06f);
    m.weights.layers.push_back(w);
  }
  m.weights.rms_final = mat(1, c.dim, 0.0f);
  m.weights.classifier = m.weights.token_embedding;
  m.storage = st;
  return m;
}

// args: M, N, K, form (0: A B, 1: A B^T, 2: A^T B)
void BM_TrainGemm(benchmark::State& state) {
  const size_t M = state.range(0), N = state.range(1), K = state.range(2);
  const auto a = random_floats(M * K, 1.0f, 1), b = random_floats(K * N, 1.0f, 2);
  std::vector<float> c(M * N);
  for (auto _ : state) {
    switch (state.range(3)) {
      case 0: train::gemm_nn(M, N, K, a.data(), b.data(), c.data(), false); break;
      case 1: train::gemm_nt(M, N, K, a.data(), b.data(), c.data(), false); break;
      default: train::gemm_tn(M, N, K, a.data(), b.data(), c.data(), false); break;
    }
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * M * N * K, benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}
// Forward of w1 (512 tokens), input gradient of w1, weight gradient of w1 (over 512 tokens), and a
// larger square product for reference.
BENCHMARK(BM_TrainGemm)->Args({512, 768, 288, 1})->Args({512, 288, 768, 0})->Args({768, 288, 512, 2})
    ->Args({1024, 1024, 1024, 0})->Unit(benchmark::kMillisecond)->UseRealTime();

// args: sequences of 256 tokens per batch
void BM_TrainBlockForwardBackward(benchmark::State& state) {
  const model::Model m = random_model(1);
  const train::BatchShape shape{size_t(state.range(0)), 256};
  const train::Block block(m.config);
  const auto x = random_floats(shape.tokens() * m.config.dim, 1.0f, 3);
  std::vector<float> y(x.size()), dx(x.size());
  std::array<std::vector<float>, model::kLinearsPerLayer> dw;
  std::array<float*, model::kLinearsPerLayer> dwp{};
  for (uint32_t i = 0; i < model::kLinearsPerLayer; ++i) {
    const train::LinearShape s = train::linear_shape(m.config, model::Linear(i));
    dw[i].resize(s.out * s.in);
    dwp[i] = dw[i].data();
  }
  train::BlockActivations acts;
  const train::BlockWeights w = train::block_weights(m, 0);
  for (auto _ : state) {
    block.forward(w, shape, x.data(), y.data(), acts);
    block.backward(w, acts, y.data(), dx.data(), dwp);
  }
  state.counters["tokens/s"] = benchmark::Counter(double(shape.tokens()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_TrainBlockForwardBackward)->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime();

// One ApiQ step of a block's seven linears (2 bits, group 64, rank 4) apart from the block itself:
// rebuilding W_eff = Q(W) + s B A, the LoRA and clipping gradients from dW_eff, and AdamW.
void BM_TrainApiqLinearStep(benchmark::State& state) {
  const model::Model m = random_model(1);
  std::vector<std::unique_ptr<train::LoraLinear>> lin;
  std::vector<std::vector<float>> grad;
  for (uint32_t i = 0; i < model::kLinearsPerLayer; ++i) {
    const model::Matrix& w = m.weights.layers[0].linear(model::Linear(i));
    lin.push_back(std::make_unique<train::LoraLinear>(w.data, w.rows, w.cols, train::LoraLinearConfig{}, i));
    grad.push_back(random_floats(size_t(w.rows) * w.cols, 1e-3f, 10 + i));
  }
  for (auto _ : state)
    for (uint32_t i = 0; i < model::kLinearsPerLayer; ++i) {
      lin[i]->build();
      lin[i]->backward(grad[i].data(), nullptr, 0.0f, train::RegularizerPlace::AfterLora);
      lin[i]->step({5e-3f, 0.1f}, {5e-4f, 0.1f});
    }
}
BENCHMARK(BM_TrainApiqLinearStep)->Unit(benchmark::kMillisecond)->UseRealTime();

// Loss and gradient of every block linear for one 256-token sequence through the 6-block model.
void BM_TrainLmGradientSequence(benchmark::State& state) {
  const model::Model m = random_model(6);
  train::LmGradient lm(m);
  std::vector<uint32_t> tokens(256);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = uint32_t((i * 7919) % m.config.vocab_size);
  train::LinearGradients g;
  for (auto _ : state) benchmark::DoNotOptimize(lm.loss(tokens, {1, 256}, &g));
  state.counters["tokens/s"] = benchmark::Counter(256.0, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_TrainLmGradientSequence)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
