// libFuzzer target: the recipe reader (bounded JSON, then every layer's fields) on arbitrary bytes.
// Any input must either parse or raise bitlens::Error; a recipe that parses must write out and read
// back as the same recipe.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.h"
#include "pipeline/recipe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bitlens::quant;
using namespace bitlens::pipeline;
  try {
    const Recipe r = parse_recipe(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json");
    const Recipe back = parse_recipe(recipe_json(r), "written");
    if (back.layers.size() != r.layers.size()) __builtin_trap();
    for (size_t i = 0; i < r.layers.size(); ++i)
      if (back.layers[i].name != r.layers[i].name || !(back.layers[i].spec == r.layers[i].spec)) __builtin_trap();
  } catch (const bitlens::Error&) {
  }
  return 0;
}
