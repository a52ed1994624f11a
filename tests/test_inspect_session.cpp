// The inspector session API: every command, valid and invalid. Invalid commands (unknown layer,
// unsupported choice, impossible budget, nothing to undo, unwritable file, no model) must return a
// clear error and leave the published state exactly as it was.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <thread>

#include "common/error.h"
#include "common/file_io.h"
#include "gpu_test.h"
#include "inspect/layer_quant.h"
#include "inspect/metrics.h"
#include "inspect/recipe.h"
#include "inspect/session.h"
#include "synthetic_model.h"

using namespace bitlens;
using namespace bitlens::inspect;

namespace {

// Widths 64 and 192 (= 12 * 16) both have Hadamard matrices, so every layer can rotate.
model::ModelConfig small_config() {
  model::ModelConfig c = test::small_config();
  c.hidden_dim = 192;
  return c;
}

OpenModel synthetic_open(uint64_t seed, model::ModelConfig config = small_config()) {
  auto m = std::make_shared<const model::Model>(test::synthetic_model(config, seed));
  auto c = std::make_shared<const CalibrationSet>(synthetic_calibration(config, 32, seed + 1));
  return {m, c};
}

SessionOptions quiet() {
  SessionOptions o;
  o.background_measurement = false;
  return o;
}

std::vector<LayerChoice> choices(const Snapshot& s) {
  std::vector<LayerChoice> c;
  for (const auto& r : s.layers) c.push_back(r.choice);
  return c;
}

// The parts of a snapshot a command may change; an invalid command must leave all of them.
void expect_same_state(const Snapshot& a, const Snapshot& b) {
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.selected, b.selected);
  EXPECT_EQ(a.detail, b.detail);
  EXPECT_EQ(choices(a), choices(b));
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (size_t i = 0; i < a.layers.size(); ++i) EXPECT_EQ(a.layers[i].metrics.output_sse, b.layers[i].metrics.output_sse);
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
    EXPECT_EQ(r.choice, (LayerChoice{quant::Format::Q4, 64, false})) << r.name;
    // 4-bit RTN of Gaussian weights: a few percent of error, never zero.
    EXPECT_GT(r.metrics.weight_error, 0.01) << r.name;
    EXPECT_LT(r.metrics.weight_error, 0.3) << r.name;
    EXPECT_GT(r.metrics.output_error, 0.01) << r.name;
    EXPECT_GT(r.metrics.saliency_error, 0.0) << r.name;
    EXPECT_NEAR(r.bpw, choice_bpw(r.choice, r.rows, r.cols), 1e-12);
    weights += uint64_t(r.rows) * r.cols;
  }
  EXPECT_NEAR(snap->linear_bpw, double(snap->linear_bytes) * 8 / double(weights), 1e-12);
  // The metrics are those of the layer quantized on its own.
  const auto& row = snap->layers[4];  // blk.0.w1
  const model::Matrix& w = open.model->weights.layers[0].w1;
  const auto q = quantize_layer(w, row.choice, 0);
  const auto x = open.calibration->input(row.ref);
  const auto m = measure_layer(w, q.restored, x, 32, channel_energy(x, 32, w.cols),
                               output_energy(w, x, 32));
  EXPECT_DOUBLE_EQ(row.metrics.weight_error, m.weight_error);
  EXPECT_DOUBLE_EQ(row.metrics.output_error, m.output_error);
}

TEST(InspectSession, CommandsBeforeOpeningNeedAModel) {
  Session s(quiet());
  expect_error(s, SelectLayer{"blk.0.wq"}, "no model is open");
  expect_error(s, SetLayer{"blk.0.wq", quant::Format::Q2, {}, {}}, "no model is open");
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
  bad.calibration = std::make_shared<const CalibrationSet>(synthetic_calibration(three, 8, seed));
  expect_error(s, bad, "calibration inputs do not match");
  auto broken = std::make_shared<model::Model>(test::synthetic_model(small_config(), seed));
  broken->config.n_heads = 5;  // does not divide dim 64
  expect_error(s, OpenModel{broken, bad.calibration}, "n_heads");
}

TEST(InspectSession, SelectLayer) {
  Session s(quiet());
  ASSERT_TRUE(s.run(synthetic_open(test::fresh_seed())).ok);
  const Status st = s.run(SelectLayer{"blk.1.w2"});
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
  expect_error(s, SelectLayer{"blk.2.wq"}, "unknown layer 'blk.2.wq'");
  expect_error(s, SelectLayer{"wq"}, "unknown layer");
}

TEST(InspectSession, SetBitsChangesThatLayerOnly) {
  Session s(quiet());
  ASSERT_TRUE(s.run(synthetic_open(test::fresh_seed())).ok);
  ASSERT_TRUE(s.run(SelectLayer{"blk.0.w2"}).ok);
  const auto before = s.snapshot();
  const Status st = s.run(parse_command("bits blk.0.w2 2"));
  ASSERT_TRUE(st.ok) << st.message;
  const auto after = s.snapshot();
  const auto& b = before->layers[5];
  const auto& a = after->layers[5];
  EXPECT_EQ(a.choice.format, quant::Format::Q2);
  EXPECT_EQ(a.choice.group_size, 64u);
  // 2 bits instead of 4: the step is 5x larger, so every error grows by a lot.
  EXPECT_GT(a.metrics.weight_error, 3 * b.metrics.weight_error);
  EXPECT_GT(a.metrics.output_error, 3 * b.metrics.output_error);
  EXPECT_GT(a.metrics.saliency_error, 3 * b.metrics.saliency_error);
  EXPECT_LT(a.bpw, b.bpw - 1.9);
  EXPECT_LT(after->linear_bpw, before->linear_bpw);
  for (size_t i = 0; i < after->layers.size(); ++i)
    if (i != 5) {
      EXPECT_EQ(after->layers[i].metrics.output_sse, before->layers[i].metrics.output_sse);
    }
  EXPECT_EQ(after->history.size(), 2u);
  EXPECT_EQ(after->history.back().what, "blk.0.w2: q2 g64");
  EXPECT_EQ(after->edits, 1u);
  ASSERT_TRUE(after->detail);  // the selected layer's detail follows its new choice
  EXPECT_EQ(after->detail->choice.format, quant::Format::Q2);
  EXPECT_EQ(after->detail->codes->bits, 2u);

  // Same choice again: nothing changes.
  const Status same = s.run(parse_command("bits blk.0.w2 2"));
  EXPECT_TRUE(same.ok);
  EXPECT_NE(same.message.find("unchanged"), std::string::npos);
  EXPECT_EQ(s.snapshot()->history.size(), 2u);
}

TEST(InspectSession, SetFormatGroupAndRotation) {
  Session s(quiet());
  ASSERT_TRUE(s.run(synthetic_open(test::fresh_seed())).ok);
  ASSERT_TRUE(s.run(parse_command("group blk.1.w1 128")).ok);
  ASSERT_TRUE(s.run(parse_command("rotate blk.1.w1 on")).ok);
  ASSERT_TRUE(s.run(parse_command("format blk.1.wk f16")).ok);
  const auto snap = s.snapshot();
  EXPECT_EQ(snap->layers[7 + 4].choice, (LayerChoice{quant::Format::Q4, 128, true}));
  EXPECT_EQ(snap->layers[7 + 1].choice.format, quant::Format::F16);  // wk: 32 x 64
  EXPECT_LT(snap->layers[7 + 1].metrics.weight_error, 1e-3);  // fp16 rounding only
  EXPECT_EQ(snap->history.size(), 4u);
}

TEST(InspectSession, InvalidLayerChangesAreRefused) {
  const uint64_t seed = test::fresh_seed();
  Session s(quiet());
  ASSERT_TRUE(s.run(synthetic_open(seed)).ok);
  expect_error(s, SetLayer{"blk.7.wq", quant::Format::Q2, {}, {}}, "unknown layer 'blk.7.wq'");
  expect_error(s, SetLayer{"blk.0.wq", {}, 48, {}}, "group size 48");
  EXPECT_THROW(parse_command("bits blk.0.wq 5"), Error);
  EXPECT_THROW(parse_command("format blk.0.wq q9"), Error);
  EXPECT_THROW(parse_command("rotate blk.0.wq maybe"), Error);
  // A model whose widths (88 = 11 * 8, 176 = 11 * 16) have no Hadamard matrix cannot rotate.
  model::ModelConfig odd = small_config();
  odd.dim = 88;
  odd.hidden_dim = 176;
  ASSERT_TRUE(s.run(synthetic_open(seed, odd)).ok);
  expect_error(s, SetLayer{"blk.0.wq", {}, {}, true}, "cannot rotate");
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
  EXPECT_GT(b25->linear_bpw, 2.25);  // the cheapest candidate (q2 g128) is 2.25 bpw or more
  EXPECT_GT(total_cost(*b25), total_cost(*q4));
  EXPECT_EQ(b25->measured_layers, b25->layers.size());
  EXPECT_EQ(b25->history.back().what, "budget 2.50 bpw");
  for (const auto& r : b25->layers) EXPECT_TRUE(r.choice.grouped());
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
  ASSERT_TRUE(s.run(parse_command("bits blk.0.wq 2")).ok);
  const auto edited = s.snapshot();
  ASSERT_TRUE(s.run(SetBudget{3.0}).ok);
  Status st = s.run(Undo{});
  ASSERT_TRUE(st.ok) << st.message;
  EXPECT_EQ(st.message, "undid budget 3.00 bpw");
  EXPECT_EQ(choices(*s.snapshot()), choices(*edited));
  EXPECT_EQ(s.snapshot()->budget_bpw, 0.0);
  ASSERT_TRUE(s.run(Undo{}).ok);
  const auto back = s.snapshot();
  EXPECT_EQ(choices(*back), choices(*start));
  for (size_t i = 0; i < back->layers.size(); ++i)
    EXPECT_EQ(back->layers[i].metrics.output_sse, start->layers[i].metrics.output_sse);
  EXPECT_EQ(back->linear_bpw, start->linear_bpw);
  EXPECT_EQ(back->edits, 4u);  // undos are edits of the log too
  expect_error(s, Undo{}, "nothing to undo");
}

TEST(InspectSession, SaveRecipe) {
  Session s(quiet());
  ASSERT_TRUE(s.run(synthetic_open(test::fresh_seed())).ok);
  ASSERT_TRUE(s.run(parse_command("bits blk.1.w3 3")).ok);
  const auto dir = std::filesystem::temp_directory_path() / ("bitlens_recipe_" + std::to_string(test::fresh_seed()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "r.json").string();
  const Status st = s.run(parse_command("save-recipe " + path));
  ASSERT_TRUE(st.ok) << st.message;
  const auto recipe = nlohmann::json::parse(read_text_file(path));
  ASSERT_EQ(recipe["layers"].size(), 14u);
  const auto& w3 = recipe["layers"][7 + 6];
  EXPECT_EQ(w3["name"], "blk.1.w3");
  EXPECT_EQ(w3["format"], "q3");
  EXPECT_EQ(w3["group_size"], 64);
  EXPECT_EQ(w3["rotate"], false);
  EXPECT_DOUBLE_EQ(w3["bpw"].get<double>(), s.snapshot()->layers[13].bpw);
  EXPECT_EQ(recipe["layers"][0]["format"], "q4");
  // The snapshot's JSON carries the same layers plus their errors and the history.
  const auto snap = snapshot_json(*s.snapshot());
  EXPECT_EQ(snap["layers"][13]["format"], "q3");
  EXPECT_DOUBLE_EQ(snap["layers"][13]["weight_error"].get<double>(), s.snapshot()->layers[13].metrics.weight_error);
  EXPECT_EQ(snap["history"].back(), "blk.1.w3: q3 g64");
  EXPECT_EQ(snap["selected"], "blk.0.wq");
  // A path below a regular file cannot be written.
  expect_error(s, SaveRecipe{path + "/r.json"}, path + "/r.json");
  std::filesystem::remove_all(dir);
}

TEST(InspectSession, ScriptLinesParse) {
  EXPECT_EQ(std::get<SelectLayer>(parse_command("select blk.0.wq")).layer, "blk.0.wq");
  const auto b = std::get<SetLayer>(parse_command("  bits   blk.2.w1   3 "));
  EXPECT_EQ(b.layer, "blk.2.w1");
  EXPECT_EQ(*b.format, quant::Format::Q3);
  EXPECT_FALSE(b.group_size);
  EXPECT_EQ(std::get<SetBudget>(parse_command("budget 2.5")).bpw, 2.5);
  EXPECT_TRUE(std::holds_alternative<Undo>(parse_command("undo")));
  EXPECT_EQ(std::get<SaveRecipe>(parse_command("save-recipe out.json")).path, "out.json");
  for (const char* bad : {"", "selekt blk.0.wq", "select", "select a b", "budget", "undo now", "group blk.0.wq 6x4"}) {
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
  s.submit(parse_command("select blk.1.wo"));
  s.submit(parse_command("bits blk.1.wo 3"));
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
    for (int i = 0; i < 5; ++i) tickets.push_back(s.submit(parse_command("bits blk.0.wq " + std::to_string(2 + i % 2))));
  }
  for (auto& t : tickets) {
    const Status st = t.get();  // every ticket is resolved; none hangs
    if (!st.ok) {
      EXPECT_TRUE(st.message.find("closed") != std::string::npos || st.message.find("cancelled") != std::string::npos)
          << st.message;
    }
  }
}
