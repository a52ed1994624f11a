// Keyboard shortcuts of the inspector. Dear ImGui 1.86 (Debian 12) indexes io.KeysDown by the GLFW
// key codes, which are the ASCII codes for digits and brackets.
#include <algorithm>

#include "draw.h"
#include "panels.h"

namespace bitlens::gui {

void shortcuts(const inspect::Snapshot& s, UiState& ui, const CommandSink& send) {
  if (!s.open || ImGui::GetIO().WantTextInput || s.selected < 0) return;
  const int n = int(s.layers.size());
  const int next = s.selected + (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_DownArrow)) ? 1 : 0) -
                   (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_UpArrow)) ? 1 : 0);
  if (next != s.selected && next >= 0 && next < n) send(inspect::SelectLayer{s.layers[size_t(next)].name});
  const std::string target = edit_target(s.layers[size_t(s.selected)], ui.edit_scope);
  for (uint32_t b : {2u, 3u, 4u, 8u})
    if (ImGui::IsKeyPressed(int('0' + b), false)) send(inspect::SetLayer{.layer = target, .bits = b});
  for (const auto& [key, step] : {std::pair{int('['), -0.25f}, std::pair{int(']'), 0.25f}})
    if (ImGui::IsKeyPressed(key, false)) {
      ui.budget = std::clamp(ui.budget + step, 1.5f, 8.5f);
      send(inspect::SetBudget{double(ui.budget)});
    }
  if (ImGui::GetIO().KeyCtrl && ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Z), false) && s.can_undo())
    send(inspect::Undo{});
}

}  // namespace bitlens::gui
