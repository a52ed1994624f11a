// Status bar: the model, the size of the current quantization, the worker's task and the last
// command's result.
#include "draw.h"
#include "panels.h"

namespace bitlens::gui {

void status_bar(const inspect::Snapshot& s, const inspect::Progress& p, UiState& ui, PanelArea area) {
  ImGui::SetNextWindowPos(area.pos, ImGuiCond_Always);
  ImGui::SetNextWindowSize(area.size, ImGuiCond_Always);
  const ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                                 ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBringToFrontOnFocus;
  ImGui::Begin("##status", nullptr, flags);
  if (s.open)
    ImGui::Text("bitlens inspector  |  %s  |  %s  |  block linears %.3f bpw, %.2f MB", s.model_name.c_str(),
                s.config.describe().c_str(), s.linear_bpw, double(s.linear_bytes) / 1e6);
  else
    ImGui::TextUnformatted("bitlens inspector  |  no model open");
  ImGui::SameLine();
  if (p.busy) {
    const ImVec4 c(1.0f, 0.8f, 0.3f, 1.0f);
    text_elided(text_printf("|  %s %.0f%%", p.task.c_str(), double(p.fraction * 100)), &c);
  } else if (!ui.message.empty()) {
    const ImVec4 c = ui.message_is_error ? ImVec4(1.0f, 0.45f, 0.4f, 1.0f) : ImVec4(0.6f, 0.85f, 0.6f, 1.0f);
    text_elided("|  " + ui.message, &c);
  }
  ImGui::End();
}

}  // namespace bitlens::gui
