// Small drawing helpers shared by the panels: the UI scale, colour maps, the metric colours, number
// text, and a plot frame with a y axis.
#pragma once

#include <imgui.h>

#include <string>

namespace bitlens::gui {

// Lengths in the panels are written in pixels at UI scale 1; px() gives them at the UI scale
// (set once by apply_style, style.h).
void set_ui_scale(float scale);
float px(float length);

// t in [0, 1] to a perceptually ordered colour (black - purple - red - orange - yellow, like inferno).
ImU32 heat_color(float t);

// Colours of the three error metrics (0 weight, 1 output, 2 saliency-weighted) and their names.
ImU32 metric_color(int metric);
const char* metric_name(int metric);

std::string text_printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Text that ends with "..." where it would pass the right edge of the window (no clipped lines);
// the full text is the tooltip of a shortened one. Greyed unless a colour is given.
void text_elided(const std::string& text, const ImVec4* colour = nullptr);

// Draws a plot frame into [p0, p1], ticks and labels on the left for values lo..hi, and returns
// the inner rectangle (left margin for labels).
struct PlotFrame {
  ImVec2 p0, p1;  // inner plot area
  float lo, hi;
  float y_of(float v) const { return p1.y - (v - lo) / (hi - lo) * (p1.y - p0.y); }
};
PlotFrame plot_frame(ImDrawList* dl, ImVec2 p0, ImVec2 p1, float lo, float hi, const char* value_format);

}  // namespace bitlens::gui
