// Generation: one prompt continued greedily by the fp32 and the quantized model side by side; the
// first token where they part is marked, and what follows it is dimmed.
#include <algorithm>

#include "draw.h"
#include "panels.h"

namespace bitlens::gui {

namespace {

// Draws the pieces wrapped into `width` at word boundaries (a piece starting with a space starts a
// word), marking piece `mark` (if any) and dimming those after it.
void token_text(const std::vector<std::string>& pieces, int mark, float width) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const float line = ImGui::GetTextLineHeightWithSpacing();
  float x = 0, y = 0;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const std::string& p = pieces[i];
    if (!p.empty() && p.find_first_not_of('\n') == std::string::npos) {
      x = 0;
      y += line;
      continue;
    }
    if (i == 0 || p[0] == ' ') {  // a word starts: wrap if the whole word does not fit
      float word = ImGui::CalcTextSize(p.c_str()).x;
      for (size_t j = i + 1; j < pieces.size() && !pieces[j].empty() && pieces[j][0] != ' ' && pieces[j][0] != '\n'; ++j)
        word += ImGui::CalcTextSize(pieces[j].c_str()).x;
      if (x > 0 && x + word > width) {
        x = 0;
        y += line;
      }
    }
    const ImVec2 size = ImGui::CalcTextSize(p.c_str());
    const ImVec2 at{origin.x + x, origin.y + y};
    ImU32 color = IM_COL32(225, 225, 230, 255);
    if (mark >= 0 && int(i) == mark) {
      dl->AddRectFilled({at.x - 1, at.y}, {at.x + size.x + 1, at.y + size.y + 1}, IM_COL32(200, 50, 50, 255));
      color = IM_COL32(255, 255, 255, 255);
    } else if (mark >= 0 && int(i) > mark) {
      color = IM_COL32(150, 150, 160, 255);
    }
    dl->AddText(at, color, p.c_str());
    x += size.x;
  }
  ImGui::Dummy({width, y + line});
}

}  // namespace

void generation(const inspect::Snapshot& s, UiState& ui, const CommandSink& send, PanelArea area) {
  if (!begin_panel("Generation", area, ui)) return end_panel();
  if (!s.can_generate) {
    ImGui::TextDisabled(s.open ? "This model was opened without a tokenizer." : "No model is open.");
    return end_panel();
  }
  ImGui::SetNextItemWidth(-px(90));
  const bool enter = ImGui::InputText("##prompt", ui.prompt, sizeof ui.prompt, ImGuiInputTextFlags_EnterReturnsTrue);
  ImGui::SameLine();
  if ((ImGui::Button("Generate") || enter) && ui.prompt[0]) send(inspect::Generate{ui.prompt});
  if (!s.generation) {
    ImGui::TextDisabled("Greedy continuations of the prompt by both models appear here.");
    return end_panel();
  }
  const inspect::GenerationComparison& g = *s.generation;
  if (g.first_divergence < 0)
    ImGui::TextDisabled("\"%s\": both models agree on all %zu tokens", g.prompt.c_str(), g.reference.size());
  else
    ImGui::TextDisabled("\"%s\": they part at token %d (red)", g.prompt.c_str(), g.first_divergence);
  const float half = (ImGui::GetContentRegionAvail().x - px(8)) / 2;
  if (ImGui::BeginTable("gen", 2, ImGuiTableFlags_BordersInnerV)) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    ImGui::TextColored({0.55f, 0.75f, 1.0f, 1.0f}, "fp32");
    token_text(g.reference, g.first_divergence, half - px(8));
    ImGui::TableNextColumn();
    ImGui::TextColored({1.0f, 0.7f, 0.4f, 1.0f}, "quantized (edit %u)", g.step);
    token_text(g.quantized, g.first_divergence, half - px(8));
    ImGui::EndTable();
  }
  end_panel();
}

}  // namespace bitlens::gui
