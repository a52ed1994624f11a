// The inspector session API: every command, valid and invalid. Invalid commands (unknown layer,
// unsupported choice, impossible budget, nothing to undo, unwritable file, no model) must return a
// clear error and leave the published state exactly as it was.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <algorithm>
#include <filesystem>
#include <random>
#include <thread>

#include "common/error.h"
#include "common/file_io.h"
#include "gpu_test.h"
#include "calib/model_stats.h"
#include "inspect/calibration.h"
#include "inspect/metrics.h"
#include "inspect/recipe.h"
#include "inspect/session.h"
#include "model_fixtures.h"
#include "pipeline/layer_allocation.h"
#include "pipeline/recipe.h"

using namespace bitlens;
using namespace bitlens::inspect;

namespace {

// Widths 64 and 192 (= 12 * 16) both have Hadamard matrices, so every layer can rotate.
model::ModelConfig small_config() {
  model::ModelConfig c = test::small_config();
  c.hidden_dim = 192;
  return c;
}

// Gaussian inputs with every 37th channel (from 5) six times larger, like the outlier channels of
// real activations, through the calib library's statistics.
std::shared_ptr<const CalibrationSet> synthetic_calibration(const model::ModelConfig& config, uint32_t tokens,
                                                            uint64_t seed) {
  calib::ModelStats stats(config);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (uint32_t b = 0; b < config.n_layers; ++b)
    for (uint32_t site = 0; site < calib::kInputSites; ++site) {
      const uint32_t n = site == uint32_t(calib::InputSite::FfnHidden) ? config.hidden_dim : config.dim;
      std::vector<float> x(size_t(tokens) * n);
      for (size_t i = 0; i < x.size(); ++i) x[i] = nd(rng) * (i % n % 37 == 5 ? 6.0f : 1.0f);
      stats.at(b, calib::InputSite(site)).add(x, tokens);
    }
  return std::make_shared<const CalibrationSet>(calibration_set(stats, "synthetic"));
}

OpenModel synthetic_open(uint64_t seed, model::ModelConfig config = small_config()) {
  auto m = std::make_shared<const model::Model>(test::synthetic_model(config, seed));
  return {m, synthetic_calibration(config, 32, seed + 1)};
}

SessionOptions quiet() {
  SessionOptions o;
  o.background_measurement = false;
  return o;
}

std::vector<pipeline::LinearSpec> specs(const Snapshot& s) {
  std::vector<pipeline::LinearSpec> c;
  for (const auto& r : s.layers) c.push_back(r.spec);
  return c;
}

// The parts of a snapshot a command may change; an invalid command must leave all of them.
void expect_same_state(const Snapshot& a, const Snapshot& b) {
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.selected, b.selected);
  EXPECT_EQ(a.detail, b.detail);
  EXPECT_EQ(specs(a), specs(b));
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (size_t i = 0; i < a.layers.size(); ++i) EXPECT_EQ(a.layers[i].metrics.output_error, b.layers[i].metrics.output_error);
  EXPECT_EQ(a.history.size(), b.history.size());
  EXPECT_EQ(a.edits, b.edits);
  EXPECT_EQ(a.budget_bpw, b.budget_bpw);
  EXPECT_EQ(a.linear_bpw, b.linear_bpw);
}

void expect_error(Session& s, Command c, const std::string& needle) {
  const auto before = s.snapshot();
  const Status st = s.run(std::move(c));
  EXPECT_FALSE(st.ok);
  EXPECT_NE(st.message.find(needle), std::string::npos) << "message: " << st.message;
  expect_same_state(*before, *s.snapshot());
}

// What the allocation minimizes: squared relative output errors weighted by layer size.
double total_cost(const Snapshot& s) {
  double t = 0;
  for (const auto& r : s.layers) t += r.metrics.output_error * r.metrics.output_error * r.rows * r.cols;
  return t;
}

}  // namespace

TEST(InspectSession, OpenPublishesEveryLayerWithItsErrors) {
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  Session s(quiet());
  EXPECT_FALSE(s.snapshot()->open);
  const OpenModel open = synthetic_open(seed);
  const Status st = s.run(open);
  ASSERT_TRUE(st.ok) << st.message;
  const auto snap = s.snapshot();
  ASSERT_TRUE(snap->open);
  ASSERT_EQ(snap->layers.size(), 2u * 7);
  EXPECT_EQ(snap->selected, 0);
  ASSERT_TRUE(snap->detail);
  EXPECT_EQ(snap->detail->layer, 0u);
  EXPECT_EQ(snap->history.size(), 1u);
  EXPECT_FALSE(snap->can_undo());
  uint64_t weights = 0;
  for (const auto& r : snap->layers) {
    EXPECT_EQ(r.spec, (pipeline::LinearSpec{pipeline::Method::Rtn, 4, 64})) << r.name;
    // 4-bit RTN of Gaussian weights: a few percent of error, never zero.
    EXPECT_GT(r.metrics.weight_error, 0.01) << r.name;
    EXPECT_LT(r.metrics.weight_error, 0.3) << r.name;
    EXPECT_GT(r.metrics.output_error, 0.01) << r.name;
    EXPECT_GT(r.metrics.saliency_error, 0.0) << r.name;
    EXPECT_NEAR(r.bpw, double(r.bits) / (r.rows * r.cols), 1e-12);
    EXPECT_GE(r.bpw, 4.5);  // codes and one fp16 scale and offset per 64 weights, and padding
    weights += uint64_t(r.rows) * r.cols;
  }
  EXPECT_NEAR(snap->linear_bpw, double(snap->linear_bytes) * 8 / double(weights), 1e-12);
  // The metrics are those of the layer quantized on its own.
  const auto& row = snap->layers[4];  // layers.0.w1
  EXPECT_EQ(row.name, "layers.0.w1");
  const model::Matrix& w = open.model->weights.layers[0].w1;
  const quant::Calibration& cal = open.calibration->of(row.ref);
  const auto q = pipeline::quantize_linear(w.span(), w.rows, w.cols, &cal, row.spec, pipeline::layer_seed(row.name));
  EXPECT_EQ(row.bits, q.stored_bytes() * 8);
  const auto m = layer_metrics(w.span(), quant::effective_weight(q), w.rows, w.cols, cal);
  EXPECT_DOUBLE_EQ(row.metrics.weight_error, m.weight_error);
  EXPECT_DOUBLE_EQ(row.metrics.output_error, m.output_error);
}

TEST(InspectSession, CommandsBeforeOpeningNeedAModel) {
  Session s(quiet());
  expect_error(s, SelectLayer{"layers.0.wq"}, "no model is open");
  expect_error(s, SetLayer{.layer = "layers.0.wq", .bits = 2}, "no model is open");
  expect_error(s, SetBudget{2.5}, "no model is open");
  expect_error(s, Undo{}, "no model is open");
  expect_error(s, SaveRecipe{"/tmp/x.json"}, "no model is open");
  expect_error(s, OpenModel{}, "no model given");
}

TEST(InspectSession, OpenRefusesCalibrationThatDoesNotFit) {
  const uint64_t seed = test::fresh_seed();
  Session s(quiet());
  ASSERT_TRUE(s.run(synthetic_open(seed)).ok);
  OpenModel bad = synthetic_open(seed);
  model::ModelConfig three = small_config();
  three.n_layers = 3;
  bad.calibration = synthetic_calibration(three, 8, seed);
  expect_error(s, bad, "calibration inputs do not match");
  auto broken = std::make_shared<model::Model>(test::synthetic_model(small_config(), seed));
  broken->config.n_heads = 5;  // does not divide dim 64
  expect_error(s, OpenModel{broken, bad.calibration}, "n_heads");
}

TEST(InspectSession, SelectLayer) {
  Session s(quiet());
  ASSERT_TRUE(s.run(synthetic_open(test::fresh_seed())).ok);
  const Status st = s.run(SelectLayer{"layers.1.w2"});
  ASSERT_TRUE(st.ok) << st.message;
  const auto snap = s.snapshot();
  EXPECT_EQ(snap->selected, 7 + 5);
  ASSERT_TRUE(snap->detail);
  const LayerDetail& d = *snap->detail;
  EXPECT_EQ(d.layer, 12u);
  EXPECT_EQ(d.rows, 64u);
  EXPECT_EQ(d.cols, 192u);
  EXPECT_EQ(d.weight.size(), 64u * 192);
  EXPECT_EQ(d.rotated.size(), d.weight.size());
  EXPECT_EQ(d.restored.size(), d.weight.size());
  EXPECT_EQ(d.saliency.size(), d.weight.size());
  EXPECT_EQ(d.energy.size(), 192u);
  ASSERT_TRUE(d.codes);
  EXPECT_EQ(d.codes->bits, 4u);
  EXPECT_EQ(d.salient_channels.size(), 1u);  // 1% of 192 columns, at least one
  // The synthetic inputs make every 37th channel (from 5) six times larger: the top channel is one.
  EXPECT_EQ(d.salient_channels[0] % 37, 5u);
  EXPECT_EQ(snap->history.size(), 1u);  // selecting is not an edit
  expect_error(s, SelectLayer{"layers.2.wq"}, "unknown layer 'layers.2.wq'");
  expect_error(s, SelectLayer{"wq"}, "unknown layer");
  expect_error(s, SelectLayer{"layers.*.wq"}, "unknown layer");  // one layer is selected, not a group
}

TEST(InspectSession, SetBitsChangesThatLayerOnly) {
  Session s(quiet());
  ASSERT_TRUE(s.run(synthetic_open(test::fresh_seed())).ok);
  ASSERT_TRUE(s.run(SelectLayer{"layers.0.w2"}).ok);
  const auto before = s.snapshot();
  const Status st = s.run(parse_command("bits layers.0.w2 2"));
  ASSERT_TRUE(st.ok) << st.message;
  const auto after = s.snapshot();
  const auto& b = before->layers[5];
  const auto& a = after->layers[5];
  EXPECT_EQ(a.spec, (pipeline::LinearSpec{pipeline::Method::Rtn, 2, 64}));
  // 2 bits instead of 4: the step is 5x larger, so every error grows by a lot.
  EXPECT_GT(a.metrics.weight_error, 3 * b.metrics.weight_error);
  EXPECT_GT(a.metrics.output_error, 3 * b.metrics.output_error);
  EXPECT_GT(a.metrics.saliency_error, 3 * b.metrics.saliency_error);
  EXPECT_LT(a.bpw, b.bpw - 1.9);
  EXPECT_LT(after->linear_bpw, before->linear_bpw);
  for (size_t i = 0; i < after->layers.size(); ++i)
    if (i != 5) {
      EXPECT_EQ(after->layers[i].metrics.output_error, before->layers[i].metrics.output_error);
    }
  EXPECT_EQ(after->history.size(), 2u);
  EXPECT_EQ(after->history.back().what, "layers.0.w2: rtn q2 g64");
  EXPECT_EQ(after->edits, 1u);
  ASSERT_TRUE(after->detail);  // the selected layer's detail follows its new choice
  EXPECT_EQ(after->detail->spec.bits, 2u);
  EXPECT_EQ(after->detail->codes->bits, 2u);

  // Same choice again: nothing changes.
  const Status same = s.run(parse_command("bits layers.0.w2 2"));
  EXPECT_TRUE(same.ok);
  EXPECT_NE(same.message.find("unchanged"), std::string::npos);
  EXPECT_EQ(s.snapshot()->history.size(), 2u);
}

TEST(InspectSession, SetMethodGroupAndRotation) {
  Session s(quiet());
  ASSERT_TRUE(s.run(synthetic_open(test::fresh_seed())).ok);
  ASSERT_TRUE(s.run(parse_command("group layers.1.w1 128")).ok);
  ASSERT_TRUE(s.run(parse_command("rotate layers.1.w1 both")).ok);
  ASSERT_TRUE(s.run(parse_command("method layers.1.wk float")).ok);
  ASSERT_TRUE(s.run(parse_command("method layers.0.wo gptq")).ok);
  const auto snap = s.snapshot();
  EXPECT_EQ(snap->layers[7 + 4].spec, (pipeline::LinearSpec{pipeline::Method::Rtn, 4, 128, quant::RotationMode::Both}));
  EXPECT_EQ(snap->layers[7 + 1].spec.method, pipeline::Method::Float);  // wk: 32 x 64
  EXPECT_EQ(snap->layers[7 + 1].spec.bits, 16u);
  EXPECT_LT(snap->layers[7 + 1].metrics.weight_error, 1e-3);  // fp16 rounding only
  EXPECT_NEAR(snap->layers[7 + 1].bpw, 16.0, 1e-9);
  EXPECT_EQ(snap->layers[3].spec, (pipeline::LinearSpec{pipeline::Method::Gptq, 4, 64}));
  EXPECT_EQ(snap->history.size(), 5u);
  EXPECT_EQ(snap->history.back().what, "layers.0.wo: gptq q4 g64");
}

TEST(InspectSession, GroupsOfLayersChangeAsOneEdit) {
  Session s(quiet());
  ASSERT_TRUE(s.run(synthetic_open(test::fresh_seed())).ok);
  const auto before = s.snapshot();
  const Status st = s.run(parse_command("bits layers.*.w2 2"));
  ASSERT_TRUE(st.ok) << st.message;
  auto snap = s.snapshot();
  for (size_t i = 0; i < snap->layers.size(); ++i) {
    const bool w2 = snap->layers[i].ref.linear == model::Linear::W2;
    EXPECT_EQ(snap->layers[i].spec.bits, w2 ? 2u : 4u) << snap->layers[i].name;
    if (w2) {
      EXPECT_GT(snap->layers[i].metrics.output_error, 3 * before->layers[i].metrics.output_error);
    } else {
      EXPECT_EQ(snap->layers[i].metrics.output_error, before->layers[i].metrics.output_error);
    }
  }
  EXPECT_EQ(snap->history.size(), 2u);
  EXPECT_EQ(snap->history.back().what, "layers.*.w2: rtn q2 g64");
  ASSERT_TRUE(s.run(parse_command("rotate layers.1.* input")).ok);
  ASSERT_TRUE(s.run(parse_command("method * ternary")).ok);
  snap = s.snapshot();
  for (size_t i = 0; i < snap->layers.size(); ++i) {
    EXPECT_EQ(snap->layers[i].spec.method, pipeline::Method::Ternary);
    EXPECT_EQ(snap->layers[i].spec.rotation, i >= 7 ? quant::RotationMode::Input : quant::RotationMode::None);
    EXPECT_LT(snap->layers[i].bpw, 2.2);  // 1.625 trit bits + 16 / 64 scale bits, and padding
  }
  EXPECT_EQ(snap->history.size(), 4u);
  ASSERT_TRUE(s.run(Undo{}).ok);
  EXPECT_EQ(s.snapshot()->layers[0].spec.method, pipeline::Method::Rtn);
  // A group edit that one layer refuses changes none of them.
  expect_error(s, parse_command("bits layers.0.* 16"), "layers.0.wq: quantization spec");
}

TEST(InspectSession, InvalidLayerChangesAreRefused) {
  const uint64_t seed = test::fresh_seed();
  Session s(quiet());
  ASSERT_TRUE(s.run(synthetic_open(seed)).ok);
  expect_error(s, SetLayer{.layer = "layers.7.wq", .bits = 2}, "unknown layer 'layers.7.wq'");
  expect_error(s, SetLayer{.layer = "layers.0.wq", .group_size = 48}, "group size must be 32, 64 or 128");
  expect_error(s, SetLayer{.layer = "layers.0.wq", .bits = 5}, "bits must be 2, 3, 4 or 8");
  ASSERT_TRUE(s.run(parse_command("method layers.0.wq slim")).ok);
  expect_error(s, SetLayer{.layer = "layers.0.wq", .bits = 4}, "mean width must be 2 or 3");
  EXPECT_THROW(parse_command("method layers.0.wq q9"), Error);
  EXPECT_THROW(parse_command("rotate layers.0.wq maybe"), Error);
  EXPECT_THROW(parse_command("bits layers.0.wq two"), Error);
  // A model whose widths (88 = 11 * 8, 176 = 11 * 16) have no Hadamard matrix cannot rotate.
  model::ModelConfig odd = small_config();
  odd.dim = 88;
  odd.hidden_dim = 176;
  ASSERT_TRUE(s.run(synthetic_open(seed, odd)).ok);
  expect_error(s, SetLayer{.layer = "layers.0.wq", .rotation = quant::RotationMode::Input}, "cannot rotate");
}

TEST(InspectSession, BudgetRunsTheAllocation) {
  Session s(quiet());
  ASSERT_TRUE(s.run(synthetic_open(test::fresh_seed())).ok);
  const auto q4 = s.snapshot();
  const Status st = s.run(SetBudget{2.5});
  ASSERT_TRUE(st.ok) << st.message;
  const auto b25 = s.snapshot();
  EXPECT_EQ(b25->budget_bpw, 2.5);
  EXPECT_LE(b25->linear_bpw, 2.5 + 1e-9);
  EXPECT_GT(b25->linear_bpw, 2.4);  // the allocation spends what the budget allows
  EXPECT_GT(total_cost(*b25), total_cost(*q4));
  EXPECT_EQ(b25->measured_layers, b25->layers.size());
  EXPECT_EQ(b25->history.back().what, "budget 2.50 bpw");
  // Every layer took one of its candidates (the pipeline's default_candidates).
  const OpenModel open = synthetic_open(1);
  for (const auto& r : b25->layers) {
    const auto cands = pipeline::default_candidates(r.rows, r.cols, &open.calibration->of(r.ref));
    EXPECT_NE(std::find(cands.begin(), cands.end(), r.spec), cands.end()) << r.name << " " << r.spec.describe();
  }
  // A larger budget costs bits and buys accuracy.
  ASSERT_TRUE(s.run(SetBudget{4.5}).ok);
  const auto b45 = s.snapshot();
  EXPECT_LE(b45->linear_bpw, 4.5 + 1e-9);
  EXPECT_GT(b45->linear_bpw, b25->linear_bpw);
  EXPECT_LT(total_cost(*b45), total_cost(*b25));
  EXPECT_EQ(b45->history.size(), 3u);
}

TEST(InspectSession, ImpossibleBudgetsAreRefused) {
  Session s(quiet());
  ASSERT_TRUE(s.run(synthetic_open(test::fresh_seed())).ok);
  expect_error(s, SetBudget{1.0}, "impossible budget 1.00 bpw");
  expect_error(s, SetBudget{0.0}, "positive");
  expect_error(s, SetBudget{-3}, "positive");
  expect_error(s, SetBudget{NAN}, "positive");
  EXPECT_THROW(parse_command("budget two"), Error);
}

TEST(InspectSession, UndoRestoresEarlierStatesExactly) {
  Session s(quiet());
  ASSERT_TRUE(s.run(synthetic_open(test::fresh_seed())).ok);
  expect_error(s, Undo{}, "nothing to undo");
  const auto start = s.snapshot();
  ASSERT_TRUE(s.run(parse_command("bits layers.0.wq 2")).ok);
  const auto edited = s.snapshot();
  ASSERT_TRUE(s.run(SetBudget{3.0}).ok);
  Status st = s.run(Undo{});
  ASSERT_TRUE(st.ok) << st.message;
  EXPECT_EQ(st.message, "undid budget 3.00 bpw");
  EXPECT_EQ(specs(*s.snapshot()), specs(*edited));
  EXPECT_EQ(s.snapshot()->budget_bpw, 0.0);
  ASSERT_TRUE(s.run(Undo{}).ok);
  const auto back = s.snapshot();
  EXPECT_EQ(specs(*back), specs(*start));
  for (size_t i = 0; i < back->layers.size(); ++i)
    EXPECT_EQ(back->layers[i].metrics.output_error, start->layers[i].metrics.output_error);
  EXPECT_EQ(back->linear_bpw, start->linear_bpw);
  EXPECT_EQ(back->edits, 4u);  // undos are edits of the log too
  expect_error(s, Undo{}, "nothing to undo");
}

TEST(InspectSession, SaveRecipe) {
  Session s(quiet());
  ASSERT_TRUE(s.run(synthetic_open(test::fresh_seed())).ok);
  ASSERT_TRUE(s.run(parse_command("bits layers.1.w3 3")).ok);
  test::TempDir dir;
  const std::string path = dir.file("r.json");
  const Status st = s.run(parse_command("save-recipe " + path));
  ASSERT_TRUE(st.ok) << st.message;
  // Main's recipe format: `bitlens quantize --recipe` reproduces the session.
  const pipeline::Recipe recipe = pipeline::load_recipe(path);
  const auto snap = s.snapshot();
  ASSERT_EQ(recipe.layers.size(), 14u);
  const pipeline::RecipeLayer& w3 = recipe.layers[7 + 6];
  EXPECT_EQ(w3.name, "layers.1.w3");
  EXPECT_EQ(w3.spec, (pipeline::LinearSpec{pipeline::Method::Rtn, 3, 64}));
  EXPECT_EQ(w3.stored_bits, snap->layers[13].bits);
  EXPECT_EQ(recipe.layers[0].spec, (pipeline::LinearSpec{pipeline::Method::Rtn, 4, 64}));
  uint64_t bits = 0;
  for (const auto& r : snap->layers) bits += r.bits;
  EXPECT_EQ(recipe.stored_bits, bits);
  // The snapshot's JSON carries the same layers plus their errors and the history.
  const auto j = snapshot_json(*snap);
  EXPECT_EQ(j["layers"][13]["spec"], "rtn q3 g64");
  EXPECT_DOUBLE_EQ(j["layers"][13]["weight_error"].get<double>(), snap->layers[13].metrics.weight_error);
  EXPECT_EQ(j["history"].back(), "layers.1.w3: rtn q3 g64");
  EXPECT_EQ(j["selected"], "layers.0.wq");
  // A path below a regular file cannot be written.
  expect_error(s, SaveRecipe{path + "/r.json"}, path + "/r.json");
}

TEST(InspectSession, ScriptLinesParse) {
  EXPECT_EQ(std::get<SelectLayer>(parse_command("select layers.0.wq")).layer, "layers.0.wq");
  const auto b = std::get<SetLayer>(parse_command("  bits   layers.2.w1   3 "));
  EXPECT_EQ(b.layer, "layers.2.w1");
  EXPECT_EQ(*b.bits, 3u);
  EXPECT_FALSE(b.group_size);
  EXPECT_FALSE(b.method);
  EXPECT_EQ(*std::get<SetLayer>(parse_command("method layers.*.w2 gptq")).method, pipeline::Method::Gptq);
  EXPECT_EQ(*std::get<SetLayer>(parse_command("rotate * input")).rotation, quant::RotationMode::Input);
  EXPECT_EQ(*std::get<SetLayer>(parse_command("group layers.0.wq 128")).group_size, 128u);
  EXPECT_EQ(std::get<SetBudget>(parse_command("budget 2.5")).bpw, 2.5);
  EXPECT_TRUE(std::holds_alternative<Undo>(parse_command("undo")));
  EXPECT_EQ(std::get<SaveRecipe>(parse_command("save-recipe out.json")).path, "out.json");
  for (const char* bad : {"", "selekt layers.0.wq", "select", "select a b", "budget", "undo now", "group layers.0.wq 6x4",
                          "format layers.0.wq q4", "rotate layers.0.wq on"}) {
    try {
      parse_command(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_GT(std::string(e.what()).size(), 10u);
    }
  }
}

TEST(InspectSession, NewBudgetsReplaceQueuedOnes) {
  Session s(quiet());
  s.submit(synthetic_open(test::fresh_seed()));
  std::vector<Ticket> tickets;
  for (double b : {2.3, 2.6, 3.0, 3.4}) tickets.push_back(s.submit(SetBudget{b}));
  EXPECT_TRUE(tickets.back().get().ok);
  for (size_t i = 0; i + 1 < tickets.size(); ++i) {
    const Status st = tickets[i].get();
    if (!st.ok) {
      EXPECT_NE(st.message.find("cancelled"), std::string::npos) << st.message;
    }
  }
  s.wait_idle();
  EXPECT_EQ(s.snapshot()->budget_bpw, 3.4);
  EXPECT_TRUE(s.idle());
}

TEST(InspectSession, CancelLeavesTheStateWholeOrUnchanged) {
  Session s(quiet());
  ASSERT_TRUE(s.run(synthetic_open(test::fresh_seed())).ok);
  const auto before = s.snapshot();
  const Ticket t = s.submit(SetBudget{2.5});
  while (!s.progress().busy && t.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
    std::this_thread::yield();
  s.cancel();
  const Status st = t.get();
  if (st.ok) {
    EXPECT_EQ(s.snapshot()->budget_bpw, 2.5);  // finished before the cancel arrived
  } else {
    EXPECT_EQ(st.message, "cancelled: budget 2.5 bpw");
    expect_same_state(*before, *s.snapshot());
  }
  ASSERT_TRUE(s.run(SetBudget{2.5}).ok);  // the session works on after a cancel
}

TEST(InspectSession, BackgroundMeasurementAndConcurrentReaders) {
  Session s;  // measures candidates while idle
  ASSERT_TRUE(s.run(synthetic_open(test::fresh_seed())).ok);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0};
  std::thread reader([&] {
    uint64_t last = 0;
    while (!done) {
      const auto snap = s.snapshot();
      EXPECT_GE(snap->version, last);  // versions never go back
      last = snap->version;
      if (snap->detail) {
        EXPECT_EQ(snap->detail->weight.size(), size_t(snap->detail->rows) * snap->detail->cols);
      }
      (void)s.progress();
      ++reads;
    }
  });
  s.submit(parse_command("select layers.1.wo"));
  s.submit(parse_command("bits layers.1.wo 3"));
  s.submit(SetBudget{2.75});
  s.wait_idle();
  done = true;
  reader.join();
  const auto snap = s.snapshot();
  EXPECT_EQ(snap->measured_layers, snap->layers.size());
  EXPECT_EQ(snap->budget_bpw, 2.75);
  EXPECT_EQ(snap->selected, 7 + 3);
  EXPECT_GT(reads.load(), 0u);
  EXPECT_FALSE(s.progress().busy);
}

TEST(InspectSession, ClosingWithQueuedWorkFailsItClearly) {
  std::vector<Ticket> tickets;
  {
    Session s(quiet());
    tickets.push_back(s.submit(synthetic_open(test::fresh_seed())));
    for (int i = 0; i < 5; ++i) tickets.push_back(s.submit(parse_command("bits layers.0.wq " + std::to_string(2 + i % 2))));
  }
  for (auto& t : tickets) {
    const Status st = t.get();  // every ticket is resolved; none hangs
    if (!st.ok) {
      EXPECT_TRUE(st.message.find("closed") != std::string::npos || st.message.find("cancelled") != std::string::npos)
          << st.message;
    }
  }
}
