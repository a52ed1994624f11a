// Bit allocation editor: the selected layer's format, group size and rotation; a global budget in
// bits per weight that re-runs the allocation; the worker's progress with a cancel button; undo;
// saving the recipe; and the edit history.
#include <algorithm>

#include "draw.h"
#include "inspect/layer_choice.h"
#include "panels.h"

namespace bitlens::gui {

namespace {

void layer_controls(const inspect::Snapshot& s, const CommandSink& send) {
  if (s.selected < 0) return;
  const inspect::LayerRow& r = s.layers[size_t(s.selected)];
  ImGui::Text("%s  %ux%u  %.3f bpw", r.name.c_str(), r.rows, r.cols, r.bpw);
  const auto& formats = quant::all_formats();
  int current = 0;
  for (size_t i = 0; i < formats.size(); ++i)
    if (formats[i].format == r.choice.format) current = int(i);
  ImGui::SetNextItemWidth(80);
  if (ImGui::BeginCombo("format", formats[size_t(current)].name)) {
    for (size_t i = 0; i < formats.size(); ++i)
      if (ImGui::Selectable(formats[i].name, int(i) == current) && int(i) != current)
        send(inspect::SetLayer{r.name, formats[i].format, {}, {}});
    ImGui::EndCombo();
  }
  ImGui::SameLine();
  ImGui::BeginDisabled(!r.choice.grouped());
  ImGui::SetNextItemWidth(70);
  if (ImGui::BeginCombo("group", std::to_string(r.choice.group_size).c_str())) {
    for (uint32_t g : quant::supported_group_sizes())
      if (ImGui::Selectable(std::to_string(g).c_str(), g == r.choice.group_size) && g != r.choice.group_size)
        send(inspect::SetLayer{r.name, {}, g, {}});
    ImGui::EndCombo();
  }
  ImGui::EndDisabled();
  ImGui::SameLine();
  inspect::LayerChoice rotated = r.choice;
  rotated.rotate = true;
  const std::string problem = inspect::choice_problem(rotated, r.rows, r.cols);
  ImGui::BeginDisabled(!problem.empty());
  bool rotate = r.choice.rotate;
  if (ImGui::Checkbox("rotate", &rotate)) send(inspect::SetLayer{r.name, {}, {}, rotate});
  ImGui::EndDisabled();
}

void progress_line(const inspect::Progress& p, UiState& ui) {
  if (p.busy) {
    ImGui::ProgressBar(std::clamp(p.fraction, 0.0f, 1.0f), {-70, 0}, p.task.c_str());
    ImGui::SameLine();
    if (ImGui::Button("Cancel")) ui.cancel_requested = true;
  } else {
    ImGui::ProgressBar(0.0f, {-70, 0}, "idle");
  }
}

}  // namespace

void allocation_editor(const inspect::Snapshot& s, const inspect::Progress& p, UiState& ui, const CommandSink& send,
                       PanelArea area) {
  if (!begin_panel("Bit allocation", area, ui)) return end_panel();
  if (!s.open) {
    ImGui::TextDisabled("No model is open.");
    return end_panel();
  }
  layer_controls(s, send);
  ImGui::Separator();
  if (s.budget_bpw != ui.budget_seen) {  // a budget set elsewhere (a script, undo) moves the slider
    ui.budget_seen = s.budget_bpw;
    if (s.budget_bpw > 0) ui.budget = float(s.budget_bpw);
  }
  ImGui::SetNextItemWidth(-150);
  ImGui::SliderFloat("budget (bpw)", &ui.budget, 2.0f, 8.5f, "%.2f");
  if (ImGui::IsItemDeactivatedAfterEdit()) send(inspect::SetBudget{double(ui.budget)});
  ImGui::SameLine();
  if (ImGui::Button("Apply")) send(inspect::SetBudget{double(ui.budget)});
  ImGui::Text("now %.3f bpw, %.2f MB of block linears", s.linear_bpw, double(s.linear_bytes) / 1e6);
  if (s.budget_bpw > 0) {
    ImGui::SameLine();
    ImGui::TextDisabled("(budget %.2f)", s.budget_bpw);
  }
  ImGui::TextDisabled("candidates measured: %u / %zu layers", s.measured_layers, s.layers.size());
  progress_line(p, ui);
  ImGui::BeginDisabled(!s.can_undo());
  if (ImGui::Button("Undo")) send(inspect::Undo{});
  ImGui::EndDisabled();
  ImGui::SameLine();
  if (ImGui::Button("Save recipe")) send(inspect::SaveRecipe{ui.recipe_path});
  ImGui::SameLine();
  ImGui::SetNextItemWidth(-1);
  ImGui::InputText("##recipe", ui.recipe_path, sizeof ui.recipe_path);
  ImGui::TextDisabled("edit history (newest last)");
  if (ImGui::BeginChild("history", {0, 0}, true)) {
    for (size_t i = 0; i < s.history.size(); ++i) ImGui::Text("%zu  %s", i, s.history[i].what.c_str());
    if (ImGui::GetScrollY() >= ImGui::GetScrollMaxY()) ImGui::SetScrollHereY(1.0f);
  }
  ImGui::EndChild();
  end_panel();
}

}  // namespace bitlens::gui
