// Snapshot: the immutable state of an inspector session that the GUI draws, published whole by the
// session's worker after every change (readers hold a shared_ptr, so nothing they see ever moves).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "inspect/evaluation.h"
#include "inspect/layer_ref.h"
#include "inspect/metrics.h"
#include "model/config.h"
#include "quant/group_quant.h"
#include "pipeline/quantize_linear.h"

namespace bitlens::inspect {

// One row of the layer browser.
struct LayerRow {
  std::string name;  // "layers.3.w2"
  LayerRef ref;
  uint32_t rows = 0, cols = 0;
  pipeline::LinearSpec spec;
  uint64_t bits = 0;  // stored bits of the layer as chosen (codes, parameters, tables, sign vectors)
  double bpw = 0;     // bits / (rows * cols)
  LayerMetrics metrics;
};

// Everything the detail panels show about the selected layer, all [rows x cols] row-major.
struct LayerDetail {
  uint32_t layer = 0;
  uint32_t rows = 0, cols = 0;
  pipeline::LinearSpec spec;
  std::vector<float> weight;     // W as in the fp32 model
  std::vector<float> rotated;    // U W V^T with the layer's rotation (a preview when it is off)
  std::vector<float> quantized;  // the quantized values in the domain they were quantized in
  std::vector<float> restored;   // W_hat: what the quantized model computes with
  std::vector<float> saliency;   // activation-aware s_ij = w_ij^2 E[x_j^2]
  std::vector<float> energy;     // E[x_j^2] per input channel
  std::optional<quant::QuantizedMatrix> codes;  // group parameters for the levels (grouped formats)
  std::vector<uint32_t> salient_channels;       // input channels with the largest saliency, largest first
  std::pair<float, float> saliency_log_range;   // colour range of log10(saliency)
};

// One entry of the undo stack: the allocation after an edit.
struct HistoryEntry {
  std::string what;  // "layers.0.wq: rtn q2 g64", "budget 2.50 bpw", "open: rtn q4 g64"
  std::vector<pipeline::LinearSpec> specs;
  double budget_bpw = 0;  // 0: no budget set
};

// One point of the live-evaluation plot: quality after an edit, against the fp32 model.
struct EvalPoint {
  uint32_t step = 0;  // position in the edit log (all edits, undos included)
  std::string what;
  double linear_bpw = 0;
  double kl = 0;    // mean KL(p_fp32 || p_quant) over the evaluation window
  double top1 = 0;  // fraction of positions whose most likely next token agrees
};

struct Snapshot {
  uint64_t version = 0;  // increases with every publication
  bool open = false;
  std::string model_name;
  model::ModelConfig config;
  std::string calibration_source;

  std::vector<LayerRow> layers;  // block linears, index = block * 7 + linear
  int selected = -1;
  std::shared_ptr<const LayerDetail> detail;  // of the selected layer

  double budget_bpw = 0;   // the last budget set (0: none)
  double linear_bpw = 0;   // bits per weight over all block linears as chosen
  uint64_t linear_bytes = 0;
  std::vector<HistoryEntry> history;  // history[0] is the state after opening; undo pops the last
  uint32_t edits = 0;                 // edits applied so far (the evaluation plot's x axis)
  std::vector<EvalPoint> evals;       // one per evaluated edit, in order
  std::string eval_source;            // the evaluation window ("" when the session cannot evaluate)
  uint32_t eval_tokens = 0;
  bool can_generate = false;          // a tokenizer is present
  std::optional<GenerationComparison> generation;  // the last Generate
  uint32_t measured_layers = 0;       // layers whose allocation candidates are measured

  const LayerRow* find(std::string_view name) const;
  bool can_undo() const { return history.size() > 1; }
};

// What the worker is doing, for the progress indicator.
struct Progress {
  bool busy = false;
  std::string task;     // "measuring candidates", "allocating 2.50 bpw", ...
  float fraction = 0;   // 0..1 of the current task
};

}  // namespace bitlens::inspect
