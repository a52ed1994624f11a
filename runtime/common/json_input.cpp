// Bounded JSON parsing (see json_input.h).
#include "common/json_input.h"

#include "common/byte_size.h"
#include "common/error.h"

namespace bitlens {

nlohmann::json parse_json_input(std::string_view text, const std::string& source, const std::string& what,
                                const JsonLimits& limits) {
  if (text.size() > limits.max_bytes)
    throw FileError(source, what + " of " + format_bytes(text.size()) + " is larger than the limit of " +
                                format_bytes(limits.max_bytes) + " for JSON");
  auto depth_limit = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    if (depth > limits.max_depth &&
        (event == nlohmann::json::parse_event_t::object_start || event == nlohmann::json::parse_event_t::array_start))
      throw FileError(source, what + " nests deeper than " + std::to_string(limits.max_depth) + " levels");
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), depth_limit);
  } catch (const nlohmann::json::exception& e) {
    throw FileError(source, what + " is not valid JSON: " + e.what());
  }
}

}  // namespace bitlens
