// The recipe of a session as JSON: the model, the budget, and every layer's format, group size,
// rotation and bits per weight, so that a quantization found in the inspector can be reproduced.
#pragma once

#include <string>

#include "inspect/snapshot.h"

namespace bitlens::inspect {

std::string recipe_json(const Snapshot& s);

}  // namespace bitlens::inspect
