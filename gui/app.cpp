// The inspector's frame loop: events, script steps, the session's snapshot drawn by the panels,
// rendering through the Vulkan window, and screenshots.
#include "app.h"

#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_vulkan.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cfloat>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "common/assets.h"
#include "common/error.h"
#include "common/file_io.h"
#include "draw.h"
#include "inspect/recipe.h"
#include "inspect/session.h"
#include "kernels/gpu.h"
#include "panels/panels.h"
#include "png.h"
#include "script.h"
#include "style.h"
#include "window.h"

namespace bitlens::gui {

namespace {

// GLFW for the life of the app.
struct GlfwLibrary {
  GlfwLibrary() {
    glfwSetErrorCallback([](int code, const char* text) { std::fprintf(stderr, "GLFW error %d: %s\n", code, text); });
    if (!glfwInit()) throw Error("cannot open a window: no display (set DISPLAY, or run under xvfb-run)");
    if (!glfwVulkanSupported()) {
      glfwTerminate();
      throw Error("GLFW finds no Vulkan loader with window-system support");
    }
  }
  ~GlfwLibrary() { glfwTerminate(); }
};

struct GlfwWindow {
  GLFWwindow* handle;
  GlfwWindow(int w, int h) {
    glfwWindowHint(GLFW_CLIENT_API, GLFW_NO_API);
    glfwWindowHint(GLFW_SCALE_TO_MONITOR, GLFW_TRUE);  // w x h at content scale 1, larger on a high-DPI monitor
    handle = glfwCreateWindow(w, h, "bitlens inspector", nullptr, nullptr);
    if (!handle) throw Error("cannot create the inspector window");
    set_window_icon(handle);
  }
  ~GlfwWindow() { glfwDestroyWindow(handle); }
};

// The Dear ImGui context, styled for the UI scale, and its GLFW platform backend.
struct ImGuiContextGuard {
  ImGuiContextGuard(GLFWwindow* w, float user_scale) {
    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGui::GetIO().IniFilename = nullptr;  // the layout is fixed; nothing to remember
    apply_style(ui_scale(w, user_scale));
    ImGui_ImplGlfw_InitForVulkan(w, true);
  }
  ~ImGuiContextGuard() {
    ImGui_ImplGlfw_Shutdown();
    ImGui::DestroyContext();
  }
};

inspect::SessionOptions session_options(const AppOptions& o) {
  inspect::SessionOptions s;
  if (o.quick_candidates)
    s.candidates = [](uint32_t rows, uint32_t cols, const quant::Calibration*) {
      return pipeline::default_candidates(rows, cols, nullptr);
    };
  return s;
}

// The Generation panel's first prompt: assets/prompts/default.txt without its line end (empty,
// with a warning, when the file is missing).
void set_default_prompt(UiState& ui) {
  try {
    std::string prompt = read_text_file(asset_path("prompts/default.txt"));
    while (!prompt.empty() && (prompt.back() == '\n' || prompt.back() == '\r')) prompt.pop_back();
    std::snprintf(ui.prompt, sizeof ui.prompt, "%s", prompt.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bitlens-inspect: warning: %s\n", e.what());
  }
}

std::string file_name_of(const std::string& panel) {
  std::string s;
  for (char c : panel) s += c == ' ' ? '-' : char(std::tolower(static_cast<unsigned char>(c)));
  return s + ".png";
}

class App {
 public:
  explicit App(const AppOptions& o)
      : opt_(o),
        window_(o.width, o.height),
        gpu_(presenting_context_options(vk::ContextOptions::from_env())),
        imgui_(window_.handle, o.ui_scale),
        vkwin_(gpu_.ctx(), window_.handle),
        session_(session_options(o)) {
    set_default_prompt(ui_);
    if (!o.script.empty()) script_ = load_script(o.script);
    for (const std::string& f : {o.model_path, o.calibration_text, o.evaluation_text})
      if (!file_exists(f)) throw FileError(f, "not found (scripts/fetch_data.sh fetches the model and the texts)");
    send(inspect::OpenFiles{o.model_path, o.tokenizer_path, o.calibration_text, o.evaluation_text}, 0,
         "open " + o.model_path);
    opening_ = pending_.back().ticket;
  }

  int run() {
    while (!glfwWindowShouldClose(window_.handle)) {
      // Frames cost CPU the worker needs (lavapipe renders on the CPU): while the session works,
      // draw about 20 frames a second for the progress bar; idle, draw only on events.
      if (session_.progress().busy || waiting_) glfwWaitEventsTimeout(0.05);
      else if (script_running() || !opened_) glfwPollEvents();
      else glfwWaitEventsTimeout(0.5);
      poll_tickets();
      if (opened_) {
        step_script();
        ++frames_after_open_;
        if (opt_.frames > 0 && frames_after_open_ >= opt_.frames) last_frame_ = true;
      } else if (opening_.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
        opened_ = true;
        if (!opening_.get().ok && !script_.empty()) {  // a script cannot run without its model
          ++failures_;
          last_frame_ = true;
        }
      }
      const bool capture_now = capture_ && capture_->settle-- <= 0;
      const bool final_capture = last_frame_ && !opt_.screenshot.empty();
      Image image;
      frame(capture_now || final_capture ? &image : nullptr);
      if (capture_now) finish_capture(image);
      if (final_capture) write_png(opt_.screenshot, image);
      if (last_frame_) break;
    }
    session_.cancel();
    const auto messages = gpu_.ctx().validation_messages();
    for (const auto& m : messages) std::fprintf(stderr, "validation layer: %s\n", m.c_str());
    return failures_ ? 1 : messages.empty() ? 0 : 2;
  }

 private:
  struct Pending {
    inspect::Ticket ticket;
    int line;
    std::string text;
  };
  struct Capture {
    ScriptStep::Kind kind;
    std::string path;
    int settle = 2;  // frames to let the layout settle first
  };

  bool script_running() const { return next_step_ < script_.size() || capture_; }

  void send(inspect::Command c, int line, std::string text) {
    pending_.push_back({session_.submit(std::move(c)), line, std::move(text)});
  }

  void poll_tickets() {
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->ticket.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        ++it;
        continue;
      }
      const inspect::Status st = it->ticket.get();
      ui_.message = st.message;
      ui_.message_is_error = !st.ok;
      if (it->line > 0 || !st.ok) {
        std::fprintf(stderr, "%s%s: %s\n", it->line > 0 ? ("script line " + std::to_string(it->line) + ", ").c_str() : "",
                     it->text.c_str(), st.ok ? st.message.c_str() : ("error: " + st.message).c_str());
      }
      if (!st.ok && it->line > 0) ++failures_;
      it = pending_.erase(it);
    }
  }

  void step_script() {
    if (capture_ || next_step_ >= script_.size()) return;
    if (waiting_) {
      if (!session_.idle() || !pending_.empty()) return;
      waiting_ = false;
      ++next_step_;
      return;
    }
    if (frames_left_ > 0) {
      if (--frames_left_ == 0) ++next_step_;
      return;
    }
    const ScriptStep& step = script_[next_step_];
    switch (step.kind) {
      case ScriptStep::Kind::Command:
        send(step.command, step.line, step.text);
        ++next_step_;
        break;
      case ScriptStep::Kind::Wait: waiting_ = true; break;
      case ScriptStep::Kind::Frames: frames_left_ = step.frames; break;
      case ScriptStep::Kind::Screenshot:
      case ScriptStep::Kind::Panels: capture_ = Capture{step.kind, step.path}; break;
      case ScriptStep::Kind::State:
        write_text_atomic(step.path, inspect::snapshot_json(*session_.snapshot()).dump(2) + "\n");
        ++next_step_;
        break;
      case ScriptStep::Kind::Scope:
        ui_.scope = inspect::Scope(step.scope);
        ++next_step_;
        break;
      case ScriptStep::Kind::Focus:
        ui_.focus_row = step.row;  // clamped to the layer's shape when drawn
        ui_.focus_col = step.col;
        ++next_step_;
        break;
      case ScriptStep::Kind::Quit: last_frame_ = true; break;
    }
  }

  void finish_capture(const Image& image) {
    if (capture_->kind == ScriptStep::Kind::Screenshot) {
      write_png(capture_->path, image);
      write_text_atomic(capture_->path + ".panels.json", panel_report(image));
    } else {
      std::filesystem::create_directories(capture_->path);
      for (const auto& [name, r] : ui_.panels)
        write_png((std::filesystem::path(capture_->path) / file_name_of(name)).string(), image,
                  {int(r.x), int(r.y), int(r.w), int(r.h)});
    }
    std::fprintf(stderr, "captured %s\n", capture_->path.c_str());
    capture_.reset();
    ++next_step_;
  }

  std::string panel_report(const Image& image) const {
    std::string j = "{\"width\": " + std::to_string(image.width) + ", \"height\": " + std::to_string(image.height) +
                    ", \"panels\": {";
    bool first = true;
    for (const auto& [name, r] : ui_.panels) {
      j += (first ? "\n  \"" : ",\n  \"") + name + "\": [" + std::to_string(int(r.x)) + ", " + std::to_string(int(r.y)) +
           ", " + std::to_string(int(r.w)) + ", " + std::to_string(int(r.h)) + "]";
      first = false;
    }
    return j + "\n}}\n";
  }

  void frame(Image* capture) {
    if (ui_.cancel_requested) {
      session_.cancel();
      ui_.cancel_requested = false;
    }
    const std::shared_ptr<const inspect::Snapshot> snap = session_.snapshot();
    const inspect::Progress progress = session_.progress();
    ImGui_ImplVulkan_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    if (!script_.empty()) ImGui::GetIO().MousePos = {-FLT_MAX, -FLT_MAX};  // scripted: no stray hover tooltips
    ImGui::NewFrame();
    draw_panels(*snap, progress);
    ImGui::Render();
    vkwin_.render(ImGui::GetDrawData(), capture);
  }

  void draw_panels(const inspect::Snapshot& s, const inspect::Progress& p) {
    const ImVec2 size = ImGui::GetIO().DisplaySize;
    const float bar = px(26), top = bar, h = size.y - top;
    const float c1 = std::floor(size.x * 0.39f), c2 = std::floor(size.x * 0.30f), c3 = size.x - c1 - c2;
    const CommandSink sink = [this](inspect::Command c) {
      const std::string text = inspect::describe(c);
      send(std::move(c), 0, text);
    };
    ui_.panels.clear();
    shortcuts(s, ui_, sink);
    status_bar(s, p, ui_, {{0, 0}, {size.x, bar}});
    layer_browser(s, ui_, sink, {{0, top}, {c1, std::floor(h * 0.56f)}});
    layer_errors(s, ui_, sink, {{0, top + std::floor(h * 0.56f)}, {c1, h - std::floor(h * 0.56f)}});
    saliency_map(s, ui_, sink, {{c1, top}, {c2, std::floor(h * 0.52f)}});
    weight_histogram(s, ui_, sink, {{c1, top + std::floor(h * 0.52f)}, {c2, h - std::floor(h * 0.52f)}});
    const float a = std::floor(h * 0.40f), e = std::floor(h * 0.28f);
    allocation_editor(s, p, ui_, sink, {{c1 + c2, top}, {c3, a}});
    live_evaluation(s, ui_, sink, {{c1 + c2, top + a}, {c3, e}});
    generation(s, ui_, sink, {{c1 + c2, top + a + e}, {c3, h - a - e}});
  }

  AppOptions opt_;
  GlfwLibrary glfw_;
  GlfwWindow window_;
  kernels::Gpu gpu_;
  ImGuiContextGuard imgui_;
  Window vkwin_;
  inspect::Session session_;
  UiState ui_;

  std::vector<ScriptStep> script_;
  size_t next_step_ = 0;
  bool waiting_ = false;
  int frames_left_ = 0;
  std::optional<Capture> capture_;
  std::vector<Pending> pending_;
  inspect::Ticket opening_;
  bool opened_ = false;
  int frames_after_open_ = 0;
  bool last_frame_ = false;
  int failures_ = 0;
};

}  // namespace

int run_app(const AppOptions& options) {
  App app(options);
  return app.run();
}

}  // namespace bitlens::gui
