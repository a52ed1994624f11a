// Per-layer error: for every layer, bars of its weight error, output error and saliency-weighted
// error on one relative scale, grouped by block; hovering names the layer, clicking selects it.
#include <algorithm>

#include "draw.h"
#include "panels.h"

namespace bitlens::gui {

void layer_errors(const inspect::Snapshot& s, UiState& ui, const CommandSink& send, PanelArea area) {
  if (!begin_panel("Per-layer error", area, ui)) return end_panel();
  if (!s.open) {
    ImGui::TextDisabled("No model is open.");
    return end_panel();
  }
  for (int m = 0; m < 3; ++m) {
    if (m) ImGui::SameLine();
    bool on = ui.error_metric_mask & (1 << m);
    ImGui::PushStyleColor(ImGuiCol_CheckMark, metric_color(m));
    if (ImGui::Checkbox(metric_name(m), &on)) ui.error_metric_mask ^= 1 << m;
    ImGui::PopStyleColor();
  }
  double max = 0;
  auto value = [](const inspect::LayerRow& r, int m) {
    return m == 0 ? r.metrics.weight_error : m == 1 ? r.metrics.output_error : r.metrics.saliency_error;
  };
  for (const auto& r : s.layers)
    for (int m = 0; m < 3; ++m)
      if (ui.error_metric_mask & (1 << m)) max = std::max(max, value(r, m));
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p0 = ImGui::GetCursorScreenPos(), avail = ImGui::GetContentRegionAvail();
  const ImVec2 p1{p0.x + avail.x, p0.y + std::max(px(40), avail.y - ImGui::GetTextLineHeight() - px(5))};
  const PlotFrame f = plot_frame(dl, p0, p1, 0.0f, float(max > 0 ? max * 1.05 : 1.0), "%.3f");
  const size_t n = s.layers.size();
  const float slot = (f.p1.x - f.p0.x) / float(n);
  const float bar = std::max(1.0f, (slot - px(2)) / 3.0f);
  for (size_t i = 0; i < n; ++i) {
    const float x = f.p0.x + slot * float(i);
    if (int(i) == s.selected) dl->AddRectFilled({x, f.p0.y}, {x + slot, f.p1.y}, IM_COL32(70, 70, 110, 255));
    for (int m = 0; m < 3; ++m) {
      if (!(ui.error_metric_mask & (1 << m))) continue;
      const float bx = x + px(1) + bar * float(m);
      dl->AddRectFilled({bx, f.y_of(float(value(s.layers[i], m)))}, {bx + bar, f.p1.y}, metric_color(m));
    }
    if (i % model::kLinearsPerLayer == 0) {
      dl->AddLine({x, f.p0.y}, {x, f.p1.y + px(4)}, IM_COL32(110, 110, 120, 255));
      std::string label = text_printf("layers.%u", s.layers[i].ref.block);
      if (ImGui::CalcTextSize(label.c_str()).x > slot * model::kLinearsPerLayer - px(4))  // a narrow plot
        label = std::to_string(s.layers[i].ref.block);
      dl->AddText({x + px(2), f.p1.y + px(2)}, IM_COL32(180, 180, 190, 255), label.c_str());
    }
  }
  ImGui::SetCursorScreenPos(f.p0);
  ImGui::InvisibleButton("bars", {f.p1.x - f.p0.x, f.p1.y - f.p0.y});
  if (ImGui::IsItemHovered()) {
    const size_t i = std::min(n - 1, size_t((ImGui::GetIO().MousePos.x - f.p0.x) / slot));
    const auto& r = s.layers[i];
    ImGui::SetTooltip("%s (%s)\nweight error   %.4f\noutput error   %.4f\nsaliency-w.    %.4f\nclick to select",
                      r.name.c_str(), r.spec.describe().c_str(), r.metrics.weight_error, r.metrics.output_error,
                      r.metrics.saliency_error);
    if (ImGui::IsItemClicked() && int(i) != s.selected) send(inspect::SelectLayer{r.name});
  }
  end_panel();
}

}  // namespace bitlens::gui
