// PNG encoding through stb_image_write and atomic writing.
#include "png.h"

#include <stb_image_write.h>

#include <algorithm>
#include <vector>

#include "common/error.h"
#include "common/file_io.h"

namespace bitlens::gui {

void write_png(const std::string& path, const Image& image) {
  write_png(path, image, {0, 0, int(image.width), int(image.height)});
}

void write_png(const std::string& path, const Image& image, PixelRect r) {
  const int x0 = std::clamp(r.x, 0, int(image.width)), y0 = std::clamp(r.y, 0, int(image.height));
  const int x1 = std::clamp(r.x + r.w, x0, int(image.width)), y1 = std::clamp(r.y + r.h, y0, int(image.height));
  if (x1 <= x0 || y1 <= y0) throw FileError(path, "nothing to write: the rectangle lies outside the frame");
  const int stride = int(image.width) * 4;
  std::vector<uint8_t> png;
  auto append = [](void* out, void* data, int size) {
    auto* v = static_cast<std::vector<uint8_t>*>(out);
    v->insert(v->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  };
  const int ok = stbi_write_png_to_func(append, &png, x1 - x0, y1 - y0, 4,
                                        image.rgba.data() + size_t(y0) * stride + size_t(x0) * 4, stride);
  if (!ok || png.empty()) throw FileError(path, "PNG encoding failed");
  write_file_atomic(path, png);
}

}  // namespace bitlens::gui
