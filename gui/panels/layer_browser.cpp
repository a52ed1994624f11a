// Layer browser: every block linear layer with its shape, quantization, bpw and the three errors,
// sortable by any column; clicking a row selects the layer.
#include <algorithm>
#include <numeric>
#include <string>

#include "draw.h"
#include "panels.h"

namespace bitlens::gui {

namespace {

enum Column { kName = 0, kShape, kSpec, kBpw, kWeightErr, kOutputErr, kSaliencyErr, kColumns };

double sort_key(const inspect::LayerRow& r, int column) {
  switch (column) {
    case kShape: return double(r.rows) * r.cols;
    case kSpec: return double(uint32_t(r.spec.method)) * 1e4 + r.spec.bits * 1e3 + r.spec.group_size + double(r.spec.rotation) / 4;
    case kBpw: return r.bpw;
    case kWeightErr: return r.metrics.weight_error;
    case kOutputErr: return r.metrics.output_error;
    case kSaliencyErr: return r.metrics.saliency_error;
    default: return r.ref.index();
  }
}

// LinearSpec::describe() with the rotation shortened to fit the table: "rtn q3 g128 rot".
std::string short_spec(const pipeline::LinearSpec& spec) {
  pipeline::LinearSpec plain = spec;
  plain.rotation = quant::RotationMode::None;
  const char* rot[] = {"", " rot-in", " rot"};
  return plain.describe() + rot[uint32_t(spec.rotation)];
}

// The error as text over a faint bar whose length is the error relative to the column's largest.
void error_cell(double v, double max, int metric) {
  const ImVec2 p = ImGui::GetCursorScreenPos();
  const float w = ImGui::GetContentRegionAvail().x, h = ImGui::GetTextLineHeight();
  const float frac = max > 0 ? float(v / max) : 0.0f;
  const ImU32 c = (metric_color(metric) & 0x00ffffffu) | 0x60000000u;
  ImGui::GetWindowDrawList()->AddRectFilled(p, {p.x + w * frac, p.y + h}, c);
  ImGui::Text("%.3f", v);
}

}  // namespace

void layer_browser(const inspect::Snapshot& s, UiState& ui, const CommandSink& send, PanelArea area) {
  if (!begin_panel("Layers", area, ui)) return end_panel();
  if (!s.open) {
    ImGui::TextDisabled("No model is open.");
    return end_panel();
  }
  text_elided("relative errors: weight, output (calibration sample), saliency-weighted");
  const ImGuiTableFlags flags = ImGuiTableFlags_Sortable | ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerV |
                                ImGuiTableFlags_ScrollY | ImGuiTableFlags_Resizable;
  ImGui::PushStyleVar(ImGuiStyleVar_CellPadding, {px(3), px(1)});
  const bool table = ImGui::BeginTable("layers", kColumns, flags);
  ImGui::PopStyleVar();
  if (!table) return end_panel();
  ImGui::TableSetupScrollFreeze(0, 1);
  auto width = [](const char* widest) { return ImGui::CalcTextSize(widest).x + px(4); };
  // A header's title and the room Dear ImGui keeps beside it for the sort arrow (0.65 font sizes).
  auto header = [](const char* title) {
    return ImGui::CalcTextSize(title).x + ImGui::GetFontSize() * 0.65f + ImGui::GetStyle().FramePadding.x;
  };
  const ImGuiTableColumnFlags fixed = ImGuiTableColumnFlags_WidthFixed;
  const ImGuiTableColumnFlags err = ImGuiTableColumnFlags_WidthStretch | ImGuiTableColumnFlags_PreferSortDescending;
  // Widths from this model's names and shapes (they apply when the table is first made).
  float name_w = 0, shape_w = 0;
  for (const auto& r : s.layers) {
    name_w = std::max(name_w, width(r.name.c_str()));
    shape_w = std::max(shape_w, width((std::to_string(r.rows) + "x" + std::to_string(r.cols)).c_str()));
  }
  ImGui::TableSetupColumn("layer", fixed | ImGuiTableColumnFlags_DefaultSort, name_w);
  ImGui::TableSetupColumn("shape", fixed, std::max(shape_w, header("shape")));
  ImGui::TableSetupColumn("quantization", fixed, width("tritplane g64 rot"));
  ImGui::TableSetupColumn("bpw", fixed, std::max(width("0.00"), header("bpw")));
  ImGui::TableSetupColumn("w.err", err);
  ImGui::TableSetupColumn("out.err", err);
  ImGui::TableSetupColumn("sal.err", err);
  ImGui::TableHeadersRow();
  if (ImGuiTableSortSpecs* specs = ImGui::TableGetSortSpecs(); specs && specs->SpecsCount > 0) {
    ui.sort_column = specs->Specs[0].ColumnIndex;
    ui.sort_descending = specs->Specs[0].SortDirection == ImGuiSortDirection_Descending;
  }
  std::vector<size_t> order(s.layers.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const double ka = sort_key(s.layers[a], ui.sort_column), kb = sort_key(s.layers[b], ui.sort_column);
    return ui.sort_descending ? ka > kb : ka < kb;
  });
  double max_err[3] = {0, 0, 0};
  for (const auto& r : s.layers) {
    max_err[0] = std::max(max_err[0], r.metrics.weight_error);
    max_err[1] = std::max(max_err[1], r.metrics.output_error);
    max_err[2] = std::max(max_err[2], r.metrics.saliency_error);
  }
  for (size_t i : order) {
    const inspect::LayerRow& r = s.layers[i];
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    const bool selected = int(i) == s.selected;
    if (ImGui::Selectable(r.name.c_str(), selected, ImGuiSelectableFlags_SpanAllColumns) && !selected)
      send(inspect::SelectLayer{r.name});
    ImGui::TableNextColumn();
    ImGui::Text("%ux%u", r.rows, r.cols);
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(short_spec(r.spec).c_str());
    ImGui::TableNextColumn();
    ImGui::Text("%.2f", r.bpw);
    ImGui::TableNextColumn();
    error_cell(r.metrics.weight_error, max_err[0], 0);
    ImGui::TableNextColumn();
    error_cell(r.metrics.output_error, max_err[1], 1);
    ImGui::TableNextColumn();
    error_cell(r.metrics.saliency_error, max_err[2], 2);
  }
  ImGui::EndTable();
  end_panel();
}

}  // namespace bitlens::gui
