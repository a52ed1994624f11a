// PNG files of captured frames (stb_image_write), whole or cut to a rectangle.
#pragma once

#include <string>

#include "window.h"

namespace bitlens::gui {

struct PixelRect {
  int x = 0, y = 0, w = 0, h = 0;
};

// Writes `image` (or the part inside `rect`, clipped to the image) atomically; throws FileError.
void write_png(const std::string& path, const Image& image);
void write_png(const std::string& path, const Image& image, PixelRect rect);

}  // namespace bitlens::gui
