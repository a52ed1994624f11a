// The inspector application end to end: bitlens-inspect runs a script under Xvfb (open the model,
// select a layer, change its bits, set a 2.5 bpw budget), and the test checks the screenshots by
// their pixels (every panel drew something, and the panels that show the quantization changed
// with it) and the session's state dumps (the errors changed as the commands said). Also: the
// --ui-scale option is checked, and the app lays itself out twice as large at --ui-scale 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "common/file_io.h"
#include "model_fixtures.h"

#ifdef BITLENS_INSPECT
#include <stb_image.h>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Png {
  int w = 0, h = 0;
  std::vector<uint8_t> rgba;
  std::array<int, 3> at(int x, int y) const {
    const uint8_t* p = &rgba[(size_t(y) * w + x) * 4];
    return {p[0], p[1], p[2]};
  }
};

Png load_png(const std::string& path) {
  Png p;
  int n = 0;
  unsigned char* data = stbi_load(path.c_str(), &p.w, &p.h, &n, 4);
  if (!data) {
    ADD_FAILURE() << "cannot read " << path;
    return p;
  }
  p.rgba.assign(data, data + size_t(p.w) * p.h * 4);
  stbi_image_free(data);
  return p;
}

// How much of a panel's content (below its title bar) is drawn: the fraction of pixels that differ
// clearly from the panel's most common colour, and the fraction that are strongly coloured.
struct Coverage {
  double drawn = 0, colourful = 0;
};

Coverage coverage(const Png& img, const json& rect) {
  const int x0 = rect[0].get<int>() + 4, y0 = rect[1].get<int>() + 24;
  const int x1 = std::min(img.w, rect[0].get<int>() + rect[2].get<int>() - 4);
  const int y1 = std::min(img.h, rect[1].get<int>() + rect[3].get<int>() - 4);
  std::map<std::array<int, 3>, int> counts;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) ++counts[img.at(x, y)];
  if (counts.empty()) return {};
  const auto bg = std::max_element(counts.begin(), counts.end(), [](auto& a, auto& b) { return a.second < b.second; })->first;
  double drawn = 0, colourful = 0, total = 0;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) {
      const auto c = img.at(x, y);
      ++total;
      if (std::abs(c[0] - bg[0]) + std::abs(c[1] - bg[1]) + std::abs(c[2] - bg[2]) > 40) ++drawn;
      if (*std::max_element(c.begin(), c.end()) - *std::min_element(c.begin(), c.end()) > 60) ++colourful;
    }
  return {drawn / total, colourful / total};
}

// Fraction of a panel's pixels that differ between two screenshots.
double changed(const Png& a, const Png& b, const json& rect) {
  const int x0 = rect[0].get<int>(), y0 = rect[1].get<int>() + 24;
  const int x1 = std::min({a.w, b.w, x0 + rect[2].get<int>()}), y1 = std::min({a.h, b.h, rect[1].get<int>() + rect[3].get<int>()});
  double diff = 0, total = 0;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x, ++total) diff += a.at(x, y) != b.at(x, y);
  return total ? diff / total : 0;
}

json read_json(const std::string& path) { return json::parse(bitlens::read_text_file(path)); }

bool have_display() { return std::getenv("DISPLAY") && *std::getenv("DISPLAY"); }

// Runs bitlens-inspect on the bundled model with `args` (under Xvfb without a display), its output
// in `log`; returns std::system's status.
int run_inspector(const std::string& args, const std::string& log) {
  const std::string data = std::string(BITLENS_SOURCE_DIR) + "/data";
  std::string cmd = std::string(BITLENS_INSPECT) + " --model " + data + "/stories15M.bin --tokenizer " + data +
                    "/tokenizer.bin --calibration-text " + data + "/texts/moby-dick/chapter_1.txt --eval-text " + data +
                    "/texts/moby-dick/chapter_2.txt " + args + " > " + log + " 2>&1";
  if (!have_display()) cmd = "xvfb-run -a -s '-screen 0 1280x800x24' " + cmd;
  return std::system(cmd.c_str());
}

// Why the app cannot run here, or empty.
std::string cannot_run_app() {
  const bool xvfb = std::system("command -v xvfb-run >/dev/null 2>&1") == 0;
  if (!have_display() && !xvfb) return "no display and no xvfb-run";
  if (!bitlens::file_exists(bitlens::test::stories15m_path()))
    return "the bundled model is not fetched (scripts/fetch_data.sh)";
  return "";
}

const json& layer(const json& state, const std::string& name) {
  for (const auto& l : state["layers"])
    if (l["name"] == name) return l;
  throw std::runtime_error("no layer " + name);
}

}  // namespace

TEST(InspectorApp, ScriptedSessionUnderXvfb) {
  if (const std::string why = cannot_run_app(); !why.empty()) GTEST_SKIP() << why;
  const fs::path dir = fs::temp_directory_path() / ("bitlens_inspect_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string d = dir.string();
  const std::string script = "wait\n"
                             "state " + d + "/s0.json\n"
                             "screenshot " + d + "/start.png\n"
                             "select layers.1.w2\n"
                             "bits layers.1.w2 2\n"
                             "wait\n"
                             "state " + d + "/s1.json\n"
                             "budget 2.5\n"
                             "wait\n"
                             "generate Once upon a time\n"
                             "wait\n"
                             "state " + d + "/s2.json\n"
                             "screenshot " + d + "/end.png\n"
                             "quit\n";
  bitlens::write_text_atomic(d + "/script.txt", script);
  const int rc = run_inspector("--quick-candidates --script " + d + "/script.txt", d + "/log.txt");
  ASSERT_EQ(rc, 0) << bitlens::read_text_file(d + "/log.txt");
  EXPECT_NE(bitlens::read_text_file(d + "/log.txt").find("UI scale 1, font "), std::string::npos);

  // Pixels: every panel drew its content; plots are coloured.
  const Png start = load_png(d + "/start.png"), end = load_png(d + "/end.png");
  ASSERT_EQ(start.w, 1280);
  ASSERT_EQ(start.h, 800);
  const json panels = read_json(d + "/end.png.panels.json")["panels"];
  // Minimum drawn and coloured fractions per panel, about half of what they measure (a panel with
  // only a line of text draws about 2%).
  const std::map<std::string, std::pair<double, double>> expected = {
      {"Layers", {0.3, 0.014}},          {"Per-layer error", {0.3, 0.15}},
      {"Saliency map", {0.5, 0.4}},      {"Weight distribution", {0.15, 0.05}},
      {"Bit allocation", {0.1, 0.015}},  {"Live evaluation", {0.2, 0.014}},
      {"Generation", {0.06, 0.01}},
  };

  for (const auto& [name, want] : expected) {
    ASSERT_TRUE(panels.contains(name)) << name << " missing from " << panels.dump();
    const Coverage c = coverage(end, panels[name]);
    std::printf("%-20s drawn %.3f colourful %.3f\n", name.c_str(), c.drawn, c.colourful);
    EXPECT_GE(c.drawn, want.first) << name;
    EXPECT_GE(c.colourful, want.second) << name;
  }
  // The panels showing the quantization changed with the commands.
  for (const char* name : {"Layers", "Per-layer error", "Saliency map", "Weight distribution", "Bit allocation",
                           "Live evaluation", "Generation"})
    EXPECT_GT(changed(start, end, panels[name]), 0.003) << name;

  // State: the errors changed as the commands said.
  const json s0 = read_json(d + "/s0.json"), s1 = read_json(d + "/s1.json"), s2 = read_json(d + "/s2.json");
  EXPECT_EQ(s0["selected"], "layers.0.wq");
  EXPECT_EQ(s1["selected"], "layers.1.w2");
  const json &a = layer(s0, "layers.1.w2"), &b = layer(s1, "layers.1.w2");
  EXPECT_EQ(a["spec"], "rtn q4 g64");
  EXPECT_EQ(b["spec"], "rtn q2 g64");
  for (const char* m : {"weight_error", "output_error", "saliency_error"})
    EXPECT_GT(b[m].get<double>(), 3 * a[m].get<double>()) << m;  // 2 bits: a 5x coarser grid
  for (size_t i = 0; i < s0["layers"].size(); ++i)
    if (s0["layers"][i]["name"] != "layers.1.w2") {
      EXPECT_EQ(s0["layers"][i]["output_error"], s1["layers"][i]["output_error"]);
    }
  EXPECT_EQ(s2["budget_bpw"], 2.5);
  EXPECT_LE(s2["linear_bpw"].get<double>(), 2.5 + 1e-9);
  EXPECT_GT(s2["linear_bpw"].get<double>(), 2.4);  // the allocation spends what the budget allows
  EXPECT_LT(s2["linear_bpw"].get<double>(), s1["linear_bpw"].get<double>());
  EXPECT_EQ(s2["history"].size(), 3u);
  // KL against fp32 after each edit: one evaluation per state, worse with every step down.
  ASSERT_EQ(s0["evals"].size(), 1u);
  ASSERT_EQ(s1["evals"].size(), 2u);
  ASSERT_EQ(s2["evals"].size(), 3u);
  const double kl0 = s0["evals"][0]["kl"], kl1 = s1["evals"][1]["kl"], kl2 = s2["evals"][2]["kl"];
  EXPECT_GT(kl0, 0.0);
  EXPECT_GT(kl1, kl0);
  EXPECT_GT(kl2, kl1);
  EXPECT_LT(s2["evals"][2]["top1"].get<double>(), s0["evals"][0]["top1"].get<double>());
  EXPECT_EQ(s2["evals"][2]["what"], "budget 2.50 bpw");
  if (!HasFailure()) fs::remove_all(dir);  // kept for a look when something failed
}

TEST(InspectorApp, UiScaleIsValidated) {
  const bitlens::test::TempDir dir;
  const std::string log = dir.file("log.txt");
  for (const char* bad : {"0.4", "4.5", "2x", "nan", "''"}) {
    const int rc = std::system((std::string(BITLENS_INSPECT) + " --ui-scale " + bad + " > " + log + " 2>&1").c_str());
    EXPECT_NE(rc, 0) << bad;
    EXPECT_NE(bitlens::read_text_file(log).find("--ui-scale takes a number from 0.5 to 4"), std::string::npos)
        << bad << ": " << bitlens::read_text_file(log);
  }
  ASSERT_EQ(std::system((std::string(BITLENS_INSPECT) + " --help > " + log + " 2>&1").c_str()), 0);
  EXPECT_NE(bitlens::read_text_file(log).find("--ui-scale X"), std::string::npos) << bitlens::read_text_file(log);
}

// At --ui-scale 2 the font is rasterized at 30 px and the layout doubles (the status bar above the
// panels is twice as tall); the window keeps its size.
TEST(InspectorApp, StartsAtUiScale2) {
  if (const std::string why = cannot_run_app(); !why.empty()) GTEST_SKIP() << why;
  const bitlens::test::TempDir dir;
  bitlens::write_text_atomic(dir.file("script.txt"), "screenshot " + dir.file("shot.png") + "\nquit\n");
  for (const char* scale : {"1", "2"}) {
    const std::string log = dir.file(std::string("log") + scale + ".txt");
    ASSERT_EQ(run_inspector(std::string("--quick-candidates --size 800x500 --ui-scale ") + scale + " --script " +
                                dir.file("script.txt"), log),
              0)
        << bitlens::read_text_file(log);
    const std::string text = bitlens::read_text_file(log);
    EXPECT_NE(text.find(std::string("UI scale ") + scale + ", font "), std::string::npos) << text;
    EXPECT_NE(text.find(std::string("DejaVuSans.ttf at ") + (scale[0] == '1' ? "15 px" : "30 px")), std::string::npos)
        << text;
    const json shot = read_json(dir.file("shot.png.panels.json"));
    EXPECT_EQ(shot["width"], 800);
    EXPECT_EQ(shot["height"], 500);
    EXPECT_EQ(shot["panels"]["Layers"][1], scale[0] == '1' ? 26 : 52);  // below the status bar
    const Png png = load_png(dir.file("shot.png"));
    EXPECT_EQ(png.w, 800);
    EXPECT_EQ(png.h, 500);
  }
}

#else

TEST(InspectorApp, ScriptedSessionUnderXvfb) { GTEST_SKIP() << "bitlens-inspect is not built (no GLFW or Dear ImGui)"; }
TEST(InspectorApp, UiScaleIsValidated) { GTEST_SKIP() << "bitlens-inspect is not built (no GLFW or Dear ImGui)"; }
TEST(InspectorApp, StartsAtUiScale2) { GTEST_SKIP() << "bitlens-inspect is not built (no GLFW or Dear ImGui)"; }

#endif
