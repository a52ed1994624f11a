// Live evaluation: KL divergence and top-1 agreement against the fp32 model on a short window,
// recomputed after every edit and plotted over the edit history (KL on the left axis, top-1 on the
// right); hovering a point names its edit.
#include <algorithm>
#include <cmath>

#include "draw.h"
#include "panels.h"

namespace bitlens::gui {

namespace {

constexpr ImU32 kKlColor = IM_COL32(240, 150, 60, 255);
constexpr ImU32 kTop1Color = IM_COL32(90, 200, 230, 255);

}  // namespace

void live_evaluation(const inspect::Snapshot& s, UiState& ui, const CommandSink&, PanelArea area) {
  if (!begin_panel("Live evaluation", area, ui)) return end_panel();
  if (s.eval_source.empty()) {
    ImGui::TextDisabled(s.open ? "This session has no evaluation window." : "No model is open.");
    return end_panel();
  }
  if (s.evals.empty()) {
    ImGui::TextDisabled("Evaluating the first state on %s ...", s.eval_source.c_str());
    return end_panel();
  }
  const inspect::EvalPoint& last = s.evals.back();
  ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(kKlColor), "KL %.4f", last.kl);
  ImGui::SameLine();
  ImGui::TextColored(ImGui::ColorConvertU32ToFloat4(kTop1Color), "top-1 %.1f%%", last.top1 * 100);
  ImGui::SameLine();
  text_elided(text_printf("at %.2f bpw; %s", last.linear_bpw, s.eval_source.c_str()));

  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p0 = ImGui::GetCursorScreenPos(), avail = ImGui::GetContentRegionAvail();
  const float line = ImGui::GetTextLineHeight();
  const ImVec2 p1{p0.x + avail.x - ImGui::CalcTextSize("100%").x - px(8), p0.y + std::max(px(40), avail.y - line - px(5))};
  double kl_max = 0;
  for (const auto& e : s.evals) kl_max = std::max(kl_max, e.kl);
  const PlotFrame f = plot_frame(dl, p0, p1, 0.0f, float(kl_max > 0 ? kl_max * 1.15 : 1.0), "%.3f");
  for (int i = 0; i <= 4; ++i) {  // right axis: top-1 from 0 to 100%, labels inside the plot's height
    const std::string t = text_printf("%d%%", i * 25);
    const float y = f.p1.y - (f.p1.y - f.p0.y) * float(i) / 4.0f - line / 2;
    dl->AddText({f.p1.x + px(4), std::clamp(y, f.p0.y, f.p1.y - line)}, kTop1Color, t.c_str());
  }
  const size_t n = s.evals.size();
  auto x_of = [&](size_t i) {
    return n == 1 ? (f.p0.x + f.p1.x) / 2 : f.p0.x + px(8) + (f.p1.x - f.p0.x - px(16)) * float(i) / float(n - 1);
  };
  auto top1_y = [&](double t) { return f.p1.y - float(t) * (f.p1.y - f.p0.y); };
  for (size_t i = 0; i < n; ++i) {
    const float x = x_of(i);
    if (i > 0) {
      dl->AddLine({x_of(i - 1), f.y_of(float(s.evals[i - 1].kl))}, {x, f.y_of(float(s.evals[i].kl))}, kKlColor, px(2));
      dl->AddLine({x_of(i - 1), top1_y(s.evals[i - 1].top1)}, {x, top1_y(s.evals[i].top1)}, kTop1Color, px(2));
    }
    dl->AddCircleFilled({x, f.y_of(float(s.evals[i].kl))}, px(3.5f), kKlColor);
    dl->AddCircleFilled({x, top1_y(s.evals[i].top1)}, px(3.5f), kTop1Color);
    const std::string label = text_printf("%u", s.evals[i].step);
    if (n < 24 || i % (n / 12 + 1) == 0)
      dl->AddText({x - ImGui::CalcTextSize(label.c_str()).x / 2, f.p1.y + px(2)}, IM_COL32(170, 170, 180, 255),
                  label.c_str());
  }
  ImGui::SetCursorScreenPos(f.p0);
  ImGui::InvisibleButton("evals", {std::max(1.0f, f.p1.x - f.p0.x), std::max(1.0f, f.p1.y - f.p0.y)});
  if (ImGui::IsItemHovered()) {
    const float mx = ImGui::GetIO().MousePos.x;
    size_t best = 0;
    for (size_t i = 1; i < n; ++i)
      if (std::abs(x_of(i) - mx) < std::abs(x_of(best) - mx)) best = i;
    const auto& e = s.evals[best];
    ImGui::SetTooltip("edit %u: %s\n%.3f bpw\nKL %.4f\ntop-1 %.1f%%", e.step, e.what.c_str(), e.linear_bpw, e.kl,
                      e.top1 * 100);
  }
  const char* axis = "edit";
  dl->AddText({f.p0.x - ImGui::CalcTextSize(axis).x - px(8), f.p1.y + px(2)}, IM_COL32(140, 140, 150, 255), axis);
  end_panel();
}

}  // namespace bitlens::gui
