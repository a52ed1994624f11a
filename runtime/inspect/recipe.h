// JSON views of a session: the recipe (the model, the budget, and every layer's format, group
// size, rotation and bits per weight, so that a quantization found in the inspector can be
// reproduced) and the whole snapshot (for scripts and tests that check what the inspector shows).
#pragma once

#include <nlohmann/json.hpp>

#include "inspect/snapshot.h"

namespace bitlens::inspect {

nlohmann::json recipe_json(const Snapshot& s);
nlohmann::json snapshot_json(const Snapshot& s);

}  // namespace bitlens::inspect
