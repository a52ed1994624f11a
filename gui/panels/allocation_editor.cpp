// Bit allocation editor: the quantization (method, bits, group size, rotation) of the selected layer
// or of a group of layers (the same linear in every block, the whole block, every layer); a global
// budget in bits per weight that re-runs the allocation; the worker's progress with a cancel
// button; undo; saving the recipe; and the edit history.
#include <algorithm>
#include <string>
#include <vector>

#include "draw.h"
#include "panels.h"
#include "quant/hadamard.h"

namespace bitlens::gui {

namespace {

void layer_controls(const inspect::Snapshot& s, UiState& ui, const CommandSink& send) {
  if (s.selected < 0) return;
  const inspect::LayerRow& r = s.layers[size_t(s.selected)];
  const pipeline::LinearSpec& spec = r.spec;
  text_elided(text_printf("%s  %ux%u  %s  %.3f bpw", r.name.c_str(), r.rows, r.cols, spec.describe().c_str(), r.bpw),
              &ImGui::GetStyle().Colors[ImGuiCol_Text]);
  const char* scopes[] = {"this layer", "this linear, every block", "this block", "every layer"};
  ImGui::SetNextItemWidth(px(190));
  ImGui::Combo("apply to", &ui.edit_scope, scopes, 4);
  const std::string target = edit_target(r, ui.edit_scope);
  ImGui::SetNextItemWidth(px(95));
  if (ImGui::BeginCombo("method", pipeline::method_name(spec.method))) {
    for (const pipeline::MethodInfo& m : pipeline::all_methods())
      if (ImGui::Selectable(m.name, m.method == spec.method)) send(inspect::SetLayer{.layer = target, .method = m.method});
    ImGui::EndCombo();
  }
  ImGui::SameLine();
  const pipeline::MethodInfo& method = pipeline::method_info(spec.method);
  const std::vector<uint32_t> bits = method.fixed_bits ? std::vector<uint32_t>{} : method.bits;
  ImGui::BeginDisabled(bits.empty());
  ImGui::SetNextItemWidth(px(50));
  if (ImGui::BeginCombo("bits", bits.empty() ? "-" : std::to_string(spec.bits).c_str())) {
    for (uint32_t b : bits)
      if (ImGui::Selectable(std::to_string(b).c_str(), b == spec.bits)) send(inspect::SetLayer{.layer = target, .bits = b});
    ImGui::EndCombo();
  }
  ImGui::EndDisabled();
  const bool grouped = method.grouped;
  ImGui::BeginDisabled(!grouped);
  ImGui::SetNextItemWidth(px(60));
  if (ImGui::BeginCombo("group", grouped ? std::to_string(spec.group_size).c_str() : "-")) {
    for (uint32_t g : quant::supported_group_sizes())
      if (ImGui::Selectable(std::to_string(g).c_str(), g == spec.group_size))
        send(inspect::SetLayer{.layer = target, .group_size = g});
    ImGui::EndCombo();
  }
  ImGui::EndDisabled();
  ImGui::SameLine();
  ImGui::SetNextItemWidth(px(75));
  if (ImGui::BeginCombo("rotation", quant::rotation_mode_name(spec.rotation))) {
    for (quant::RotationMode m : {quant::RotationMode::None, quant::RotationMode::Input, quant::RotationMode::Both}) {
      const bool ok = m == quant::RotationMode::None ||
                      (quant::hadamard_supported(r.cols) && (m == quant::RotationMode::Input || quant::hadamard_supported(r.rows)));
      ImGui::BeginDisabled(!ok);
      if (ImGui::Selectable(quant::rotation_mode_name(m), m == spec.rotation))
        send(inspect::SetLayer{.layer = target, .rotation = m});
      ImGui::EndDisabled();
    }
    ImGui::EndCombo();
  }
}

void progress_line(const inspect::Progress& p, UiState& ui) {
  if (p.busy) {
    ImGui::ProgressBar(std::clamp(p.fraction, 0.0f, 1.0f), {-px(70), 0}, p.task.c_str());
    ImGui::SameLine();
    if (ImGui::Button("Cancel")) ui.cancel_requested = true;
  } else {
    ImGui::ProgressBar(0.0f, {-px(70), 0}, "idle");
  }
}

}  // namespace

// The layers an edit applies to: the selected one, its linear in every block, its block, or all.
std::string edit_target(const inspect::LayerRow& r, int scope) {
  switch (scope) {
    case 1: return "layers.*." + std::string(model::linear_name(r.ref.linear));
    case 2: return "layers." + std::to_string(r.ref.block) + ".*";
    case 3: return "*";
    default: return r.name;
  }
}

void allocation_editor(const inspect::Snapshot& s, const inspect::Progress& p, UiState& ui, const CommandSink& send,
                       PanelArea area) {
  if (!begin_panel("Bit allocation", area, ui)) return end_panel();
  if (!s.open) {
    ImGui::TextDisabled("No model is open.");
    return end_panel();
  }
  layer_controls(s, ui, send);
  ImGui::Separator();
  if (s.budget_bpw != ui.budget_seen) {  // a budget set elsewhere (a script, undo) moves the slider
    ui.budget_seen = s.budget_bpw;
    if (s.budget_bpw > 0) ui.budget = float(s.budget_bpw);
  }
  ImGui::SetNextItemWidth(-px(150));
  ImGui::SliderFloat("budget (bpw)", &ui.budget, 1.5f, 8.5f, "%.2f");
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
