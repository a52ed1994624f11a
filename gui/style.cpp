// Style, font and icon of the inspector window.
#include "style.h"

#include <GLFW/glfw3.h>
#include <imgui.h>
#include <stb_image.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "common/assets.h"
#include "draw.h"

namespace bitlens::gui {

float ui_scale(GLFWwindow* window, float user_scale) {
  float x = 1, y = 1;
  glfwGetWindowContentScale(window, &x, &y);
  return (x > 0 ? x : 1.0f) * user_scale;
}

void apply_style(float scale) {
  ImGui::StyleColorsDark();
  ImGuiStyle& style = ImGui::GetStyle();
  style.WindowRounding = 0;
  style.WindowBorderSize = 1;
  style.FramePadding = {5, 3};
  style.ScaleAllSizes(scale);
  set_ui_scale(scale);

  ImGuiIO& io = ImGui::GetIO();
  std::string font;
  try {
    font = asset_path("fonts/DejaVuSans.ttf");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bitlens-inspect: warning: %s; using Dear ImGui's built-in font\n", e.what());
  }
  float pixels = std::round(kFontPixels * scale);
  if (!font.empty() && !io.Fonts->AddFontFromFileTTF(font.c_str(), pixels)) {
    std::fprintf(stderr, "bitlens-inspect: warning: cannot load the font %s; using Dear ImGui's built-in font\n",
                 font.c_str());
    font.clear();
  }
  if (font.empty()) {
    ImFontConfig builtin;  // the bitmap font at its own 13 px, scaled
    builtin.SizePixels = pixels = std::round(13.0f * scale);
    builtin.OversampleH = builtin.OversampleV = 1;
    builtin.PixelSnapH = true;
    io.Fonts->AddFontDefault(&builtin);
  }
  std::fprintf(stderr, "bitlens-inspect: UI scale %g, font %s at %g px\n", double(scale),
               font.empty() ? "built-in" : font.c_str(), double(pixels));
}

void set_window_icon(GLFWwindow* window) {
  std::vector<GLFWimage> images;
  for (const char* name : {"icons/bitlens.png", "icons/bitlens-32.png"}) {
    try {
      const std::string path = asset_path(name);
      GLFWimage image{};
      int channels = 0;
      image.pixels = stbi_load(path.c_str(), &image.width, &image.height, &channels, 4);
      if (image.pixels) images.push_back(image);
      else
        std::fprintf(stderr, "bitlens-inspect: warning: cannot read the icon %s: %s\n", path.c_str(),
                     stbi_failure_reason());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bitlens-inspect: warning: %s\n", e.what());
    }
  }
  if (!images.empty()) glfwSetWindowIcon(window, int(images.size()), images.data());
  for (const GLFWimage& image : images) stbi_image_free(image.pixels);
}

}  // namespace bitlens::gui
