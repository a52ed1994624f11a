// bitlens-inspect: opens a model in the inspector. Options:
//   --model FILE --tokenizer FILE   the model to open (default: data/stories15M.bin, its tokenizer
//                                   beside it)
//   --calibration-text FILE         text whose first tokens calibrate (default: Moby Dick chapter 1)
//   --eval-text FILE                text whose first tokens evaluate (default: Moby Dick chapter 2)
//   --script FILE                   run a command script (see script.h)
//   --screenshot FILE               write the last frame as PNG when the app ends
//   --frames N                      end after N frames once the model is open
//   --size WxH                      window size (default 1280x800; larger on a high-DPI monitor)
//   --ui-scale X                    text and sizes times X (0.5 to 4), on top of the monitor's scale
//   --quick-candidates              allocate among round-to-nearest, ternary and trit-plane
//                                   candidates only (no GPTQ, SliM-LLM, PTQ1.61): quicker budgets
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "app.h"
#include "common/error.h"

namespace {

const char* kUsage =
    "usage: bitlens-inspect [--model FILE] [--tokenizer FILE] [--calibration-text FILE] [--eval-text FILE]\n"
    "                       [--script FILE] [--screenshot FILE] [--frames N] [--size WxH] [--ui-scale X]\n"
    "                       [--quick-candidates]\n"
    "  --ui-scale X   text and sizes times X, 0.5 to 4 (default 1), on top of the monitor's content scale\n";

int to_int(const std::string& s, const char* what) {
  size_t used = 0;
  int v = 0;
  try {
    v = std::stoi(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || v < 0) throw bitlens::Error(std::string("invalid ") + what + ": '" + s + "'");
  return v;
}

float to_scale(const std::string& s) {
  size_t used = 0;
  float v = 0;
  try {
    v = std::stof(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || !(v >= 0.5f && v <= 4.0f))
    throw bitlens::Error("--ui-scale takes a number from 0.5 to 4, not '" + s + "'");
  return v;
}

bitlens::gui::AppOptions parse(int argc, char** argv) {
  bitlens::gui::AppOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw bitlens::Error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--model") o.model_path = value();
    else if (a == "--tokenizer") o.tokenizer_path = value();
    else if (a == "--calibration-text") o.calibration_text = value();
    else if (a == "--eval-text") o.evaluation_text = value();
    else if (a == "--script") o.script = value();
    else if (a == "--screenshot") o.screenshot = value();
    else if (a == "--frames") o.frames = to_int(value(), "frame count");
    else if (a == "--ui-scale") o.ui_scale = to_scale(value());
    else if (a == "--quick-candidates") o.quick_candidates = true;
    else if (a == "--size") {
      const std::string v = value();
      const size_t x = v.find('x');
      if (x == std::string::npos) throw bitlens::Error("--size takes WIDTHxHEIGHT, not '" + v + "'");
      o.width = to_int(v.substr(0, x), "width");
      o.height = to_int(v.substr(x + 1), "height");
      if (o.width < 320 || o.height < 240) throw bitlens::Error("the window must be at least 320x240");
    } else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else {
      throw bitlens::Error("unknown option '" + a + "'\n" + kUsage);
    }
  }
  if (!o.screenshot.empty() && o.frames == 0 && o.script.empty()) o.frames = 3;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return bitlens::gui::run_app(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bitlens-inspect: error: %s\n", e.what());
    return 1;
  }
}
