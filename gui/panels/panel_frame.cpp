// The fixed windows every panel lives in, and the record of where each was drawn.
#include "panels.h"

namespace bitlens::gui {

bool begin_panel(const char* name, PanelArea area, UiState& ui) {
  ImGui::SetNextWindowPos(area.pos, ImGuiCond_Always);
  ImGui::SetNextWindowSize(area.size, ImGuiCond_Always);
  const ImGuiWindowFlags flags = ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse |
                                 ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBringToFrontOnFocus;
  const bool open = ImGui::Begin(name, nullptr, flags);
  const ImVec2 p = ImGui::GetWindowPos(), s = ImGui::GetWindowSize();
  ui.panels[name] = {p.x, p.y, s.x, s.y};
  return open;
}

void end_panel() { ImGui::End(); }

}  // namespace bitlens::gui
