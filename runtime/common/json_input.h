// JSON read from outside (container metadata, recipe files) with limits checked while parsing: the
// text's size and its nesting depth are bounded, so no file can make the parse build a tree more
// than a small multiple of its size or nest without end. Errors are FileErrors naming the source.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace bitlens {

struct JsonLimits {
  size_t max_bytes = size_t(16) << 20;  // far above any recipe or metadata bitlens writes
  int max_depth = 32;                   // bitlens' own documents nest at most 4 deep
};

// Messages read "<source>: <what> is not valid JSON: ...", "<source>: <what> nests deeper than 32 levels".
nlohmann::json parse_json_input(std::string_view text, const std::string& source, const std::string& what,
                                const JsonLimits& limits = {});

}  // namespace bitlens
