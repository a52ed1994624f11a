// The inspector's look at a UI scale: Dear ImGui's dark style with the panels' settings, every size
// scaled, the bundled TTF font (assets/fonts) rasterized at the scaled size, and the window icon
// (assets/icons). The scale is the monitor's content scale times --ui-scale.
#pragma once

struct GLFWwindow;

namespace bitlens::gui {

// The font size of the UI at scale 1, in pixels.
constexpr float kFontPixels = 15.0f;

// The content scale of the monitor `window` is on (1 on an ordinary screen) times `user_scale`.
float ui_scale(GLFWwindow* window, float user_scale);

// Styles the current Dear ImGui context for `scale` and adds its font, before the renderer builds
// the font texture; px() (draw.h) follows the scale. Without the TTF it warns and uses Dear ImGui's
// built-in font, scaled. Prints one line saying the scale and the font.
void apply_style(float scale);

// The window icon from assets/icons (64 and 32 pixels); warns when they cannot be read.
void set_window_icon(GLFWwindow* window);

}  // namespace bitlens::gui
