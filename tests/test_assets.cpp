// assets/: the lookup order of common/assets.h ($BITLENS_ASSETS, beside the binary, the source
// tree) and its error, and the files themselves: every sample recipe loads and is valid, every
// inspector script parses, the default prompt, the font with its licence and the icons are there.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <string>

#include "common/assets.h"
#include "common/error.h"
#include "common/file_io.h"
#include "inspect/layer_ref.h"
#include "model_fixtures.h"
#include "pipeline/recipe.h"

#ifdef BITLENS_INSPECT
#include <stb_image.h>

#include "script.h"
#endif

namespace fs = std::filesystem;
using namespace bitlens;

namespace {

const std::string kSourceAssets = std::string(BITLENS_SOURCE_DIR) + "/assets";

// Sets (or, with nullopt, unsets) an environment variable for the life of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) setenv(name, value->c_str(), 1);
    else unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

void put(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  write_text_atomic(path, text);
}

std::vector<std::string> files_in(const std::string& folder) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kSourceAssets + "/" + folder))
    if (e.is_regular_file()) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST(AssetLookup, SearchesTheEnvironmentThenBesideTheBinaryThenTheSourceTree) {
  const fs::path exe_dir = fs::read_symlink("/proc/self/exe").parent_path();
  const std::vector<std::string> beside = {(exe_dir / "assets").string(),
                                           (exe_dir.parent_path() / "share" / "bitlens" / "assets").string()};
  {
    ScopedEnv env("BITLENS_ASSETS", "/somewhere/assets");
    EXPECT_EQ(asset_roots(), (std::vector<std::string>{"/somewhere/assets", beside[0], beside[1], kSourceAssets}));
  }
  {
    ScopedEnv env("BITLENS_ASSETS", "");  // empty: not a folder to search
    EXPECT_EQ(asset_roots(), (std::vector<std::string>{beside[0], beside[1], kSourceAssets}));
  }
  ScopedEnv env("BITLENS_ASSETS", std::nullopt);
  EXPECT_EQ(asset_roots(), (std::vector<std::string>{beside[0], beside[1], kSourceAssets}));
}

TEST(AssetLookup, TheFirstFolderHoldingTheFileWins) {
  test::TempDir dir;
  const std::string a = dir.file("a"), b = dir.file("b"), c = dir.file("c");
  put(b + "/prompts/p.txt", "b");
  put(c + "/prompts/p.txt", "c");
  put(a + "/prompts/q.txt", "a");
  EXPECT_EQ(find_asset("prompts/p.txt", {a, b, c}), b + "/prompts/p.txt");
  EXPECT_EQ(find_asset("prompts/p.txt", {c, b}), c + "/prompts/p.txt");
  EXPECT_EQ(find_asset("prompts/q.txt", {a, b, c}), a + "/prompts/q.txt");
  fs::create_directories(a + "/prompts/dir.txt");  // a folder is not the file
  EXPECT_THROW(find_asset("prompts/dir.txt", {a}), Error);
}

TEST(AssetLookup, AMissingAssetNamesItAndEveryFolderSearched) {
  test::TempDir dir;
  try {
    find_asset("fonts/none.ttf", {dir.file("a"), dir.file("b")});
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("asset 'fonts/none.ttf' not found"), std::string::npos) << m;
    EXPECT_NE(m.find(dir.file("a")), std::string::npos) << m;
    EXPECT_NE(m.find(dir.file("b")), std::string::npos) << m;
    EXPECT_NE(m.find("BITLENS_ASSETS"), std::string::npos) << m;
  }
}

TEST(AssetLookup, TheEnvironmentOverridesTheSourceTree) {
  test::TempDir dir;
  put(dir.file("prompts/default.txt"), "Elsewhere\n");
  {
    ScopedEnv env("BITLENS_ASSETS", dir.file(""));
    EXPECT_EQ(read_text_file(asset_path("prompts/default.txt")), "Elsewhere\n");
    EXPECT_EQ(asset_path("fonts/DejaVuSans.ttf"), kSourceAssets + "/fonts/DejaVuSans.ttf");  // not there: the next
  }
  ScopedEnv env("BITLENS_ASSETS", std::nullopt);
  EXPECT_EQ(asset_path("prompts/default.txt"), kSourceAssets + "/prompts/default.txt");
}

// A recipe with no hand-fixed layer is meant for `bitlens quantize --recipe` alone, so it names
// every linear of every block; one of fixed layers goes with --target-bpw and may name a few.
TEST(Assets, EverySampleRecipeLoadsAndIsValid) {
  const auto recipes = files_in("recipes");
  ASSERT_FALSE(recipes.empty());
  for (const std::string& path : recipes) {
    SCOPED_TRACE(path);
    const pipeline::Recipe r = pipeline::load_recipe(path);
    ASSERT_FALSE(r.layers.empty());
    std::set<uint32_t> indices;
    uint32_t blocks = 0;
    bool any_fixed = false;
    for (const pipeline::RecipeLayer& l : r.layers) {
      EXPECT_NO_THROW(pipeline::validate(l.spec)) << l.name;
      const inspect::LayerRef ref = inspect::parse_layer(l.name, 1u << 20);
      EXPECT_TRUE(indices.insert(ref.index()).second) << l.name << " twice";
      blocks = std::max(blocks, ref.block + 1);
      any_fixed |= l.fixed;
    }
    if (!any_fixed) {
      EXPECT_EQ(indices.size(), size_t(blocks) * model::kLinearsPerLayer) << "not every layer";
    }
  }
}

TEST(Assets, TheDefaultPromptIsOneLine) {
  const std::string p = read_text_file(kSourceAssets + "/prompts/default.txt");
  ASSERT_GT(p.size(), 1u);
  EXPECT_EQ(p.find('\n'), p.size() - 1);
}

TEST(Assets, TheFontComesWithItsLicence) {
  EXPECT_GT(fs::file_size(kSourceAssets + "/fonts/DejaVuSans.ttf"), 100000u);
  const std::string licence = read_text_file(kSourceAssets + "/fonts/LICENSE-DejaVu.txt");
  EXPECT_NE(licence.find("Bitstream Vera Fonts Copyright"), std::string::npos);
  EXPECT_NE(licence.find("Arev Fonts Copyright"), std::string::npos);
}

#ifdef BITLENS_INSPECT

TEST(Assets, EveryInspectorScriptParses) {
  const auto scripts = files_in("scripts");
  ASSERT_FALSE(scripts.empty());
  for (const std::string& path : scripts) EXPECT_NO_THROW(gui::load_script(path)) << path;
}

TEST(Assets, TheIconsAreSquareRgbaPngs) {
  for (const auto& [name, size] : {std::pair{"bitlens.png", 64}, std::pair{"bitlens-32.png", 32}}) {
    int w = 0, h = 0, n = 0;
    unsigned char* p = stbi_load((kSourceAssets + "/icons/" + name).c_str(), &w, &h, &n, 0);
    ASSERT_NE(p, nullptr) << name;
    stbi_image_free(p);
    EXPECT_EQ(w, size) << name;
    EXPECT_EQ(h, size) << name;
    EXPECT_EQ(n, 4) << name;
  }
}

#endif
