// The UI scale, colour maps, metric colours, formatted text and plot frames.
#include "draw.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>

namespace bitlens::gui {

namespace {
float ui_scale_ = 1.0f;
}  // namespace

void set_ui_scale(float scale) { ui_scale_ = scale; }
float px(float length) { return length * ui_scale_; }

ImU32 heat_color(float t) {
  static const float stops[][3] = {{0.02f, 0.02f, 0.08f}, {0.26f, 0.04f, 0.41f}, {0.58f, 0.15f, 0.40f},
                                   {0.87f, 0.32f, 0.23f}, {0.98f, 0.62f, 0.04f}, {0.99f, 0.98f, 0.64f}};
  const int n = int(sizeof stops / sizeof stops[0]) - 1;
  t = std::clamp(std::isfinite(t) ? t : 0.0f, 0.0f, 1.0f) * float(n);
  const int i = std::min(int(t), n - 1);
  const float f = t - float(i);
  auto mix = [&](int c) { return stops[i][c] + (stops[i + 1][c] - stops[i][c]) * f; };
  return ImGui::ColorConvertFloat4ToU32(ImVec4(mix(0), mix(1), mix(2), 1.0f));
}

ImU32 metric_color(int metric) {
  switch (metric) {
    case 0: return IM_COL32(90, 160, 240, 255);   // weight error: blue
    case 1: return IM_COL32(240, 150, 60, 255);   // output error: orange
    default: return IM_COL32(120, 210, 120, 255);  // saliency-weighted: green
  }
}

const char* metric_name(int metric) {
  switch (metric) {
    case 0: return "weight error";
    case 1: return "output error";
    default: return "saliency-weighted error";
  }
}

std::string text_printf(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

void text_elided(const std::string& text, const ImVec4* colour) {
  const float width = ImGui::GetContentRegionAvail().x;
  std::string shown = text;
  if (ImGui::CalcTextSize(text.c_str()).x > width) {
    while (!shown.empty() && ImGui::CalcTextSize((shown + "...").c_str()).x > width) shown.pop_back();
    shown += "...";
  }
  ImGui::PushStyleColor(ImGuiCol_Text, colour ? *colour : ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  ImGui::TextUnformatted(shown.c_str());
  ImGui::PopStyleColor();
  if (shown != text && ImGui::IsItemHovered()) ImGui::SetTooltip("%s", text.c_str());
}

PlotFrame plot_frame(ImDrawList* dl, ImVec2 p0, ImVec2 p1, float lo, float hi, const char* value_format) {
  if (hi <= lo) hi = lo + 1.0f;
  std::string labels[5];
  float margin = 0;  // room for the widest label
  for (int i = 0; i <= 4; ++i) {
    labels[i] = text_printf(value_format, double(lo + (hi - lo) * float(i) / 4.0f));
    margin = std::max(margin, ImGui::CalcTextSize(labels[i].c_str()).x + px(6));
  }
  PlotFrame f{{p0.x + margin, p0.y}, p1, lo, hi};
  dl->AddRectFilled(f.p0, f.p1, IM_COL32(30, 30, 36, 255));
  dl->AddRect(f.p0, f.p1, IM_COL32(90, 90, 100, 255));
  for (int i = 0; i <= 4; ++i) {
    const float y = f.y_of(f.lo + (f.hi - f.lo) * float(i) / 4.0f);
    dl->AddLine({f.p0.x, y}, {f.p1.x, y}, IM_COL32(60, 60, 70, 255));
    const ImVec2 ts = ImGui::CalcTextSize(labels[i].c_str());
    dl->AddText({f.p0.x - ts.x - px(4), std::clamp(y - ts.y * 0.5f, p0.y, p1.y - ts.y)}, IM_COL32(170, 170, 180, 255),
                labels[i].c_str());
  }
  return f;
}

}  // namespace bitlens::gui
