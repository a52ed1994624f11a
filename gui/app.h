// The inspector application: a GLFW window rendering with Dear ImGui on the runtime's Vulkan
// device, an inspect::Session doing the work on its worker thread, the panels laid out in a fixed
// grid, and the automation hooks (a command script, screenshots, a frame limit).
#pragma once

#include <string>

namespace bitlens::gui {

struct AppOptions {
  std::string model_path = "data/stories15M.bin";  // llama2.c checkpoint or GGUF
  std::string tokenizer_path;                      // empty: found beside the model
  std::string calibration_text = "data/texts/moby-dick/chapter_1.txt";
  std::string evaluation_text = "data/texts/moby-dick/chapter_2.txt";
  std::string script;          // command script (script.h)
  std::string screenshot;      // PNG of the last frame, written when the app ends
  int frames = 0;              // leave after this many frames once the model is open (0: run on)
  int width = 1280, height = 800;  // at the monitor's content scale 1 (a high-DPI monitor enlarges it)
  float ui_scale = 1.0f;            // text and sizes, on top of the monitor's content scale
  // Allocation candidates without the calibration-based methods (GPTQ, SliM-LLM, PTQ1.61): the
  // pipeline's default_candidates with no calibration, round-to-nearest at every width, ternary,
  // trit-planes. Measuring them is several times quicker on a slow CPU.
  bool quick_candidates = false;
};

// Runs the app until its window closes, the script quits or the frame limit is reached. Returns the
// process exit status (non-zero when a scripted command failed); throws Error when it cannot start.
int run_app(const AppOptions& options);

}  // namespace bitlens::gui
