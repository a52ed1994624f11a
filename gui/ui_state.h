// UiState: what the inspector's panels remember between frames (sorting, zoom, the histogram's
// scope, text fields) - everything that is view, not model. The model side lives in the session's
// snapshot; panels read it and send commands through a CommandSink.
#pragma once

#include <imgui.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "inspect/command.h"
#include "inspect/heatmap.h"
#include "inspect/histogram.h"
#include "inspect/snapshot.h"

namespace bitlens::gui {

using CommandSink = std::function<void(inspect::Command)>;

// Where a panel was drawn in the last frame, in pixels (reported for tests and screenshots).
struct PanelRect {
  float x = 0, y = 0, w = 0, h = 0;
};

struct UiState {
  // Layer browser.
  int sort_column = 0;
  bool sort_descending = false;

  // Heat map: the visible window of the matrix (in matrix columns and rows) and colouring.
  float view_col0 = 0, view_cols = 0, view_row0 = 0, view_rows = 0;  // 0 cols: whole matrix
  bool saliency_log = true;
  uint32_t focus_row = 0, focus_col = 0;  // element the histogram scope is centred on
  int view_layer = -1;                    // layer the view was set up for
  std::shared_ptr<const inspect::LayerDetail> heat_detail;  // cache key of `heat`, with heat_key
  uint32_t heat_key[6] = {};
  inspect::Heatmap heat;

  // Weight histogram, and the histograms computed for (detail, scope, focus).
  inspect::Scope scope = inspect::Scope::Tensor;
  bool hist_log = false;
  struct HistogramCache {
    std::shared_ptr<const inspect::LayerDetail> detail;
    inspect::Scope scope = inspect::Scope::Tensor;
    uint32_t row = 0, col = 0;
    inspect::Histogram before, rotated, quantized;
    std::vector<float> levels;  // of the focused group, in the quantized domain
  } hist_cache;

  // Per-layer error bars.
  int error_metric_mask = 7;  // weight, output, saliency-weighted

  // Allocation editor.
  float budget = 2.5f;
  int edit_scope = 0;      // which layers a change applies to: 0 selected, 1 its linear in every block, 2 its block, 3 all
  double budget_seen = 0;  // the snapshot's budget when the slider last followed it
  char recipe_path[256] = "recipe.json";
  bool cancel_requested = false;  // set by the Cancel button, handled by the app

  // Generation.
  char prompt[256] = {};  // set from assets/prompts/default.txt

  // Status line.
  std::string message;
  bool message_is_error = false;

  // Filled while drawing: each panel's rectangle.
  std::map<std::string, PanelRect> panels;
};

}  // namespace bitlens::gui
