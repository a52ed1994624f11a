// SessionState: the worker-side state of an inspector Session and the implementation of every
// command. Only the session's worker thread touches it. Each command builds the next Snapshot and
// the layers it re-quantized aside and commits them only when nothing failed, so an invalid or
// cancelled command leaves the state unchanged.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "inspect/calibration.h"
#include "inspect/command.h"
#include "inspect/evaluation.h"
#include "inspect/session.h"
#include "inspect/snapshot.h"
#include "model/packed_model.h"
#include "model/weights.h"

namespace bitlens::inspect {

// Thrown inside a command when the session asked it to stop.
struct Cancelled : Error {
  Cancelled() : Error("cancelled") {}
};

struct SessionHooks {
  std::function<void(std::shared_ptr<const Snapshot>)> publish;
  std::function<void(const std::string& task, float fraction)> progress;
  std::function<bool()> cancelled;
};

class SessionState {
 public:
  SessionState(SessionOptions options, SessionHooks hooks);

  // Runs a command; returns its success message, throws Error (state unchanged) when it fails.
  std::string apply(const Command& command);
  bool has_background_work() const;
  void background_step();  // measures the candidates of one more layer
  void stop_background() { options_.background_measurement = false; }

  const Snapshot& current() const { return *snap_; }

 private:
  // A layer as currently quantized.
  struct Current {
    pipeline::LinearSpec spec;
    std::shared_ptr<const quant::PackedLinear> packed;
    LayerMetrics metrics;
    uint64_t bits = 0;
  };
  // A measured allocation candidate.
  struct Measured {
    pipeline::LinearSpec spec;
    uint64_t bits = 0;
    LayerMetrics metrics;
  };
  struct LayerData {
    std::vector<Measured> candidates;  // empty until measured
    Current current;
  };
  using Staged = std::vector<std::pair<uint32_t, Current>>;

  std::string open(const OpenModel& c);
  std::string open_files(const OpenFiles& c);
  std::string generate(const Generate& c);
  std::string save_model(const SaveModel& c);
  std::string select(const SelectLayer& c);
  std::string set_layer(const SetLayer& c);
  std::string set_budget(const SetBudget& c);
  std::string undo();
  std::string save_recipe(const SaveRecipe& c);

  void require_open() const;
  uint32_t layer_index(const std::string& name) const;
  const model::Matrix& weight(uint32_t layer) const;
  const quant::Calibration& calibration(uint32_t layer) const;
  Current quantize(uint32_t layer, const pipeline::LinearSpec& spec) const;
  void measure_candidates(uint32_t layer);
  std::shared_ptr<const LayerDetail> make_detail(uint32_t layer, const Current& current) const;
  // Re-quantizes the layers whose spec differs from `specs` (with progress); staged, not committed.
  Staged stage_specs(const std::vector<pipeline::LinearSpec>& specs, const std::string& task) const;
  // Commits staged layers into layers_ and the rows, totals and detail of `next`, then publishes it.
  void commit(Snapshot next, Staged staged);
  void check_cancel() const;
  // The quantized model as it stands: the block linears as chosen, everything else fp32.
  model::PackedModel assemble() const;
  void evaluate_current();

  SessionOptions options_;
  SessionHooks hooks_;
  std::shared_ptr<const model::Model> model_;
  std::shared_ptr<const CalibrationSet> calibration_;
  std::vector<LayerData> layers_;
  std::shared_ptr<const model::Tokenizer> tokenizer_;
  std::shared_ptr<const Evaluator> evaluator_;
  std::shared_ptr<const model::PackedModel> base_;  // embedding, norms; no block linears
  bool eval_pending_ = false;                        // the current state has not been evaluated
  std::shared_ptr<const Snapshot> snap_;
};

}  // namespace bitlens::inspect
