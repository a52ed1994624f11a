// The inspector's panels. Each is a function of the session's snapshot and the UI state that sends
// commands through the sink; none touches the session or Vulkan directly.
#pragma once

#include <string>

#include "inspect/snapshot.h"
#include "ui_state.h"

namespace bitlens::gui {

struct PanelArea {
  ImVec2 pos, size;
};

// Begins a fixed panel window at `area` and records its rectangle under `name` in ui.panels.
bool begin_panel(const char* name, PanelArea area, UiState& ui);
void end_panel();

void layer_browser(const inspect::Snapshot& s, UiState& ui, const CommandSink& send, PanelArea area);
void weight_histogram(const inspect::Snapshot& s, UiState& ui, const CommandSink& send, PanelArea area);
void saliency_map(const inspect::Snapshot& s, UiState& ui, const CommandSink& send, PanelArea area);
void layer_errors(const inspect::Snapshot& s, UiState& ui, const CommandSink& send, PanelArea area);
void allocation_editor(const inspect::Snapshot& s, const inspect::Progress& p, UiState& ui, const CommandSink& send,
                       PanelArea area);
void live_evaluation(const inspect::Snapshot& s, UiState& ui, const CommandSink& send, PanelArea area);
void generation(const inspect::Snapshot& s, UiState& ui, const CommandSink& send, PanelArea area);
void status_bar(const inspect::Snapshot& s, const inspect::Progress& p, UiState& ui, PanelArea area);

// The layer name or pattern an edit of row `r` applies to under ui.edit_scope.
std::string edit_target(const inspect::LayerRow& r, int scope);
// Keyboard shortcuts (ignored while a text field has the keyboard): Up/Down select the previous or
// next layer, 2/3/4/8 set the bits of the edit target, [ and ] move the budget by 0.25 bpw and
// apply it, Ctrl+Z undoes.
void shortcuts(const inspect::Snapshot& s, UiState& ui, const CommandSink& send);

}  // namespace bitlens::gui
