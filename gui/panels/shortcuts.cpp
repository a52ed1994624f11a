// Keyboard shortcuts of the inspector.
#include <algorithm>

#include "draw.h"
#include "panels.h"

namespace bitlens::gui {

void shortcuts(const inspect::Snapshot& s, UiState& ui, const CommandSink& send) {
  if (!s.open || ImGui::GetIO().WantTextInput || s.selected < 0) return;
  const int n = int(s.layers.size());
  if (ImGui::IsKeyPressed(ImGuiKey_DownArrow)) send(inspect::SelectLayer{s.layers[size_t(std::min(s.selected + 1, n - 1))].name});
  if (ImGui::IsKeyPressed(ImGuiKey_UpArrow)) send(inspect::SelectLayer{s.layers[size_t(std::max(s.selected - 1, 0))].name});
  const std::string target = edit_target(s.layers[size_t(s.selected)], ui.edit_scope);
  const std::pair<ImGuiKey, uint32_t> bits[] = {{ImGuiKey_2, 2}, {ImGuiKey_3, 3}, {ImGuiKey_4, 4}, {ImGuiKey_8, 8}};
  for (const auto& [key, b] : bits)
    if (ImGui::IsKeyPressed(key, false)) send(inspect::SetLayer{.layer = target, .bits = b});
  for (const auto& [key, step] : {std::pair{ImGuiKey_LeftBracket, -0.25f}, std::pair{ImGuiKey_RightBracket, 0.25f}})
    if (ImGui::IsKeyPressed(key, false)) {
      ui.budget = std::clamp(ui.budget + step, 1.5f, 8.5f);
      send(inspect::SetBudget{double(ui.budget)});
    }
  if (ImGui::GetIO().KeyCtrl && ImGui::IsKeyPressed(ImGuiKey_Z, false) && s.can_undo()) send(inspect::Undo{});
}

}  // namespace bitlens::gui
