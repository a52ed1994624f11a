// Asset lookup: $BITLENS_ASSETS, beside the executable (/proc/self/exe), then the source tree.
#include "common/assets.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "common/error.h"

#ifndef BITLENS_SOURCE_ASSETS
#error "BITLENS_SOURCE_ASSETS (the source tree's assets folder) must be defined by the build"
#endif

namespace bitlens {

namespace fs = std::filesystem;

std::vector<std::string> asset_roots() {
  std::vector<std::string> roots;
  if (const char* env = std::getenv("BITLENS_ASSETS"); env && *env) roots.emplace_back(env);
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    roots.push_back((exe.parent_path() / "assets").string());
    roots.push_back((exe.parent_path().parent_path() / "share" / "bitlens" / "assets").string());
  }
  roots.emplace_back(BITLENS_SOURCE_ASSETS);
  return roots;
}

std::string find_asset(const std::string& relative, const std::vector<std::string>& roots) {
  std::string searched;
  for (const std::string& root : roots) {
    const fs::path p = fs::path(root) / relative;
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p.string();
    searched += "\n  " + root;
  }
  throw Error("asset '" + relative + "' not found; looked in (set BITLENS_ASSETS to the assets folder):" + searched);
}

std::string asset_path(const std::string& relative) { return find_asset(relative, asset_roots()); }

}  // namespace bitlens
