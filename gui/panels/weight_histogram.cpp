// Weight distribution: histograms of the selected layer's weights before rotation, after rotation
// and after quantization, for the whole tensor, one output or input channel, or one group (the
// element focused in the saliency map), with the group's quantization levels drawn.
#include <algorithm>
#include <cmath>

#include "draw.h"
#include "panels.h"

namespace bitlens::gui {

namespace {

constexpr uint32_t kBins = 96;

void update_cache(const std::shared_ptr<const inspect::LayerDetail>& d, UiState& ui) {
  auto& c = ui.hist_cache;
  ui.focus_row = std::min(ui.focus_row, d->rows - 1);
  ui.focus_col = std::min(ui.focus_col, d->cols - 1);
  if (c.detail == d && c.scope == ui.scope && c.row == ui.focus_row && c.col == ui.focus_col) return;
  if (d->codes) {  // levels of the focused group, which may reach beyond its values
    c.levels = inspect::group_levels(*d->codes, ui.focus_row, ui.focus_col / d->codes->group_size);
  } else {
    c.levels.clear();
  }
  const uint32_t group = d->codes ? d->codes->group_size : d->spec.group_size ? d->spec.group_size : 64;
  auto values = [&](const std::vector<float>& m) {
    return inspect::scope_values(m, d->rows, d->cols, ui.scope, ui.focus_row, ui.focus_col, group);
  };
  const auto before = values(d->weight), rotated = values(d->rotated), quantized = values(d->quantized);
  // A group has few values: show all of them and its levels. Larger scopes leave out the extreme
  // 0.1% at each end, so that a few outliers do not squeeze the bulk into a few bins.
  auto [lo, hi] = ui.scope == inspect::Scope::Group ? inspect::value_range({before, rotated, quantized, c.levels})
                                                    : inspect::robust_range({before, rotated, quantized}, 0.001f);
  const float pad = 0.05f * (hi - lo);
  lo -= pad;
  hi += pad;
  c.detail = d;
  c.scope = ui.scope;
  c.row = ui.focus_row;
  c.col = ui.focus_col;
  c.before = inspect::histogram(before, lo, hi, kBins);
  c.rotated = inspect::histogram(rotated, lo, hi, kBins);
  c.quantized = inspect::histogram(quantized, lo, hi, kBins);
}

void draw_histogram(const char* label, const inspect::Histogram& h, ImU32 color, bool log_scale,
                    const std::vector<float>* levels, float height) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const ImVec2 p0 = ImGui::GetCursorScreenPos();
  const float w = ImGui::GetContentRegionAvail().x;
  const ImVec2 p1{p0.x + w, p0.y + height};
  dl->AddRectFilled(p0, p1, IM_COL32(28, 28, 34, 255));
  const float max = float(h.max_count());
  auto scale = [&](float n) { return log_scale ? std::log1p(n) / std::log1p(std::max(max, 1.0f)) : n / std::max(max, 1.0f); };
  const float bw = w / float(h.counts.size());
  for (size_t i = 0; i < h.counts.size(); ++i) {
    if (!h.counts[i]) continue;
    const float top = p1.y - (height - ImGui::GetTextLineHeight() - px(1)) * scale(float(h.counts[i]));
    dl->AddRectFilled({p0.x + bw * float(i), top}, {p0.x + bw * float(i + 1) - px(1), p1.y}, color);
  }
  if (levels)
    for (float v : *levels) {
      if (v < h.lo || v > h.hi) continue;
      const float x = p0.x + (v - h.lo) / (h.hi - h.lo) * w;
      dl->AddLine({x, p0.y + ImGui::GetTextLineHeight()}, {x, p1.y}, IM_COL32(255, 230, 80, 200), px(1));
    }
  dl->AddRect(p0, p1, IM_COL32(80, 80, 90, 255));
  dl->AddText({p0.x + px(4), p0.y + px(1)}, IM_COL32(220, 220, 225, 255), label);
  ImGui::Dummy({w, height});
  if (ImGui::IsItemHovered()) {
    const float x = ImGui::GetIO().MousePos.x - p0.x;
    const size_t bin = std::min(h.counts.size() - 1, size_t(std::max(0.0f, x / bw)));
    ImGui::SetTooltip("[%.4g, %.4g): %u weights", double(h.lo + h.bin_width() * float(bin)),
                      double(h.lo + h.bin_width() * float(bin + 1)), h.counts[bin]);
  }
}

}  // namespace

void weight_histogram(const inspect::Snapshot& s, UiState& ui, const CommandSink&, PanelArea area) {
  if (!begin_panel("Weight distribution", area, ui)) return end_panel();
  if (!s.detail) {
    ImGui::TextDisabled("Select a layer.");
    return end_panel();
  }
  const auto& d = *s.detail;
  static const char* scopes[] = {"tensor", "output channel", "input channel", "group"};
  int scope = int(ui.scope);
  ImGui::SetNextItemWidth(px(140));
  if (ImGui::Combo("scope", &scope, scopes, 4)) ui.scope = inspect::Scope(scope);
  ImGui::SameLine();
  ImGui::Checkbox("log counts", &ui.hist_log);
  update_cache(s.detail, ui);
  const auto& c = ui.hist_cache;
  ImGui::SameLine();
  if (ui.scope == inspect::Scope::Tensor)
    text_elided(s.layers[d.layer].name);
  else
    text_elided(text_printf("row %u, col %u (click the map)", c.row, c.col));
  const float height = std::max(px(40), (ImGui::GetContentRegionAvail().y - ImGui::GetTextLineHeightWithSpacing()) / 3.0f -
                                            ImGui::GetStyle().ItemSpacing.y);
  const bool group_scope = ui.scope == inspect::Scope::Group;
  const std::vector<float>* levels = group_scope && !c.levels.empty() ? &c.levels : nullptr;
  const bool rotated = d.spec.rotation != quant::RotationMode::None;
  const std::string rot = rotated ? "after rotation (used)" : "after rotation (preview, rotation off)";
  const std::string quant_title = "after quantization: " + d.spec.describe() + (levels ? ", levels in yellow" : "");
  draw_histogram("before rotation (fp32)", c.before, IM_COL32(110, 150, 200, 255), ui.hist_log,
                 rotated ? nullptr : levels, height);
  draw_histogram(rot.c_str(), c.rotated, IM_COL32(160, 120, 210, 255), ui.hist_log, rotated ? levels : nullptr,
                 height);
  draw_histogram(quant_title.c_str(), c.quantized, IM_COL32(235, 140, 60, 255), ui.hist_log, levels, height);
  ImGui::TextDisabled("x: %.4g .. %.4g   outside: %llu / %llu / %llu", double(c.before.lo), double(c.before.hi),
                      (unsigned long long)c.before.outside, (unsigned long long)c.rotated.outside,
                      (unsigned long long)c.quantized.outside);
  end_panel();
}

}  // namespace bitlens::gui
