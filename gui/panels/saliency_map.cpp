// Saliency map: the selected layer's activation-aware saliency as a heat map (max-pooled to the
// screen, so single salient weights stay visible), with zoom (wheel) and pan (drag), a tooltip with
// the row, column, weight, quantized weight and saliency, and the most salient input channels
// marked. A click focuses the histogram's scope on that element.
#include <algorithm>
#include <cmath>

#include "draw.h"
#include "panels.h"

namespace bitlens::gui {

namespace {

constexpr float kCellPixels = 3.0f;

void reset_view(const inspect::LayerDetail& d, UiState& ui) {
  ui.view_col0 = 0;
  ui.view_row0 = 0;
  ui.view_cols = float(d.cols);
  ui.view_rows = float(d.rows);
  ui.view_layer = int(d.layer);
}

// Zooms around the matrix point under the cursor, keeping the view inside the matrix.
void zoom(const inspect::LayerDetail& d, UiState& ui, float factor, float fx, float fy) {
  const float cols = std::clamp(ui.view_cols * factor, 8.0f, float(d.cols));
  const float rows = std::clamp(ui.view_rows * factor, 8.0f, float(d.rows));
  const float cx = ui.view_col0 + fx * ui.view_cols, cy = ui.view_row0 + fy * ui.view_rows;
  ui.view_col0 = std::clamp(cx - fx * cols, 0.0f, float(d.cols) - cols);
  ui.view_row0 = std::clamp(cy - fy * rows, 0.0f, float(d.rows) - rows);
  ui.view_cols = cols;
  ui.view_rows = rows;
}

const inspect::Heatmap& heatmap(const std::shared_ptr<const inspect::LayerDetail>& d, UiState& ui, ImVec2 size) {
  const uint32_t r0 = uint32_t(ui.view_row0), c0 = uint32_t(ui.view_col0);
  const uint32_t r1 = std::min(d->rows, uint32_t(std::ceil(ui.view_row0 + ui.view_rows)));
  const uint32_t c1 = std::min(d->cols, uint32_t(std::ceil(ui.view_col0 + ui.view_cols)));
  const uint32_t max_rows = std::max(1u, uint32_t(size.y / px(kCellPixels)));
  const uint32_t max_cols = std::max(1u, uint32_t(size.x / px(kCellPixels)));
  const uint32_t key[6] = {r0, r1, c0, c1, max_rows, max_cols};
  if (ui.heat_detail != d || !std::equal(key, key + 6, ui.heat_key)) {
    ui.heat = inspect::downsample_max(d->saliency, d->rows, d->cols, r0, r1, c0, c1, max_rows, max_cols);
    ui.heat_detail = d;
    std::copy(key, key + 6, ui.heat_key);
  }
  return ui.heat;
}

void color_bar(ImDrawList* dl, ImVec2 p0, ImVec2 p1, float lo, float hi, bool log_scale) {
  const int steps = 48;
  const float h = (p1.y - p0.y) / float(steps);
  for (int i = 0; i < steps; ++i)
    dl->AddRectFilled({p0.x, p1.y - h * float(i + 1)}, {p0.x + px(12), p1.y - h * float(i) + 0.5f},
                      heat_color((float(i) + 0.5f) / float(steps)));
  for (int i = 0; i <= 2; ++i) {
    const float v = lo + (hi - lo) * float(i) / 2.0f;
    const std::string t = log_scale ? text_printf("1e%.1f", double(v)) : text_printf("%.2g", double(v));
    const float y = p1.y - (p1.y - p0.y) * float(i) / 2.0f - (i ? 0.0f : ImGui::GetTextLineHeight());
    dl->AddText({p0.x + px(15), y}, IM_COL32(190, 190, 200, 255), t.c_str());
  }
}

}  // namespace

void saliency_map(const inspect::Snapshot& s, UiState& ui, const CommandSink&, PanelArea area) {
  if (!begin_panel("Saliency map", area, ui)) return end_panel();
  if (!s.detail) {
    ImGui::TextDisabled("Select a layer.");
    return end_panel();
  }
  const auto& d = *s.detail;
  if (ui.view_layer != int(d.layer) || ui.view_cols <= 0) reset_view(d, ui);
  ImGui::Checkbox("log colour", &ui.saliency_log);
  ImGui::SameLine();
  if (ImGui::Button("reset view")) reset_view(d, ui);
  ImGui::SameLine();
  text_elided(text_printf("%s  %.0fx  s = w^2 E[x^2]", s.layers[d.layer].name.c_str(),
                          double(float(d.cols) / ui.view_cols)));

  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const ImVec2 origin = ImGui::GetCursorScreenPos();
  const ImVec2 p0{origin.x, origin.y + px(10)};  // room for the salient-channel marks
  const ImVec2 size{std::max(px(16), avail.x - px(25) - ImGui::CalcTextSize("1.2e-05").x),
                    std::max(px(16), avail.y - px(10) - ImGui::GetTextLineHeightWithSpacing() - px(4))};
  const ImVec2 p1{p0.x + size.x, p0.y + size.y};
  const inspect::Heatmap& h = heatmap(s.detail, ui, size);

  float lo = 0, hi = 1;
  if (ui.saliency_log) {
    lo = d.saliency_log_range.first;
    hi = std::max(d.saliency_log_range.second, lo + 1e-3f);
  } else {
    hi = d.saliency_log_range.second > lo ? std::pow(10.0f, d.saliency_log_range.second) : 1.0f;
  }
  auto screen_x = [&](float col) { return p0.x + (col - ui.view_col0) / ui.view_cols * size.x; };
  auto screen_y = [&](float row) { return p0.y + (row - ui.view_row0) / ui.view_rows * size.y; };
  dl->PushClipRect(p0, p1, true);
  for (uint32_t r = 0; r < h.rows; ++r)
    for (uint32_t c = 0; c < h.cols; ++c) {
      const float v = h.cells[size_t(r) * h.cols + c];
      const float t = ui.saliency_log ? (v > 0 ? (std::log10(v) - lo) / (hi - lo) : 0.0f) : v / hi;
      const float x0 = screen_x(float(h.col0 + c * h.col_step)), y0 = screen_y(float(h.row0 + r * h.row_step));
      const float x1 = screen_x(float(h.col0 + (c + 1) * h.col_step)), y1 = screen_y(float(h.row0 + (r + 1) * h.row_step));
      dl->AddRectFilled({x0, y0}, {x1 + 0.5f, y1 + 0.5f}, heat_color(t));
    }
  for (uint32_t ch : d.salient_channels) {
    const float x = screen_x(float(ch) + 0.5f);
    dl->AddLine({x, p0.y}, {x, p1.y}, IM_COL32(80, 230, 255, 70));
  }
  dl->PopClipRect();
  for (uint32_t ch : d.salient_channels) {
    const float x = screen_x(float(ch) + 0.5f);
    if (x >= p0.x && x <= p1.x)
      dl->AddTriangleFilled({x - px(4), p0.y - px(9)}, {x + px(4), p0.y - px(9)}, {x, p0.y - px(1)},
                            IM_COL32(80, 230, 255, 255));
  }
  dl->AddRect(p0, p1, IM_COL32(90, 90, 100, 255));
  color_bar(dl, {p1.x + px(6), p0.y}, {p1.x + px(6), p1.y}, lo, hi, ui.saliency_log);

  ImGui::SetCursorScreenPos(p0);
  ImGui::InvisibleButton("map", size);
  if (ImGui::IsItemHovered()) {
    const ImVec2 m = ImGui::GetIO().MousePos;
    const float fx = std::clamp((m.x - p0.x) / size.x, 0.0f, 0.9999f), fy = std::clamp((m.y - p0.y) / size.y, 0.0f, 0.9999f);
    const uint32_t col = std::min(d.cols - 1, uint32_t(ui.view_col0 + fx * ui.view_cols));
    const uint32_t row = std::min(d.rows - 1, uint32_t(ui.view_row0 + fy * ui.view_rows));
    const size_t i = size_t(row) * d.cols + col;
    const bool salient = std::find(d.salient_channels.begin(), d.salient_channels.end(), col) != d.salient_channels.end();
    ImGui::SetTooltip("row %u, col %u%s\nweight     %+.5f\nquantized  %+.5f\nsaliency   %.3e\nE[x^2]     %.3g", row,
                      col, salient ? " (salient channel)" : "", double(d.weight[i]), double(d.restored[i]),
                      double(d.saliency[i]), double(d.energy[col]));
    if (const float wheel = ImGui::GetIO().MouseWheel; wheel != 0) zoom(d, ui, wheel > 0 ? 0.8f : 1.25f, fx, fy);
    if (ImGui::IsMouseReleased(ImGuiMouseButton_Left) && ImGui::GetMouseDragDelta(ImGuiMouseButton_Left, 0).x == 0 &&
        ImGui::GetMouseDragDelta(ImGuiMouseButton_Left, 0).y == 0) {
      ui.focus_row = row;
      ui.focus_col = col;
    }
  }
  if (ImGui::IsItemActive() && ImGui::IsMouseDragging(ImGuiMouseButton_Left)) {
    const ImVec2 delta = ImGui::GetIO().MouseDelta;
    ui.view_col0 = std::clamp(ui.view_col0 - delta.x / size.x * ui.view_cols, 0.0f, float(d.cols) - ui.view_cols);
    ui.view_row0 = std::clamp(ui.view_row0 - delta.y / size.y * ui.view_rows, 0.0f, float(d.rows) - ui.view_rows);
  }
  ImGui::SetCursorScreenPos({p0.x, p1.y + px(2)});
  text_elided(text_printf("input channel ->  %u x %u, %zu salient channels marked", d.rows, d.cols,
                          d.salient_channels.size()));
  end_panel();
}

}  // namespace bitlens::gui
