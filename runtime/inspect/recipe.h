// The session as a pipeline::Recipe (quant/recipe.h: what `bitlens quantize --recipe` reproduces), and
// the whole snapshot as JSON (for scripts and tests that check what the inspector shows).
#pragma once

#include <nlohmann/json.hpp>

#include "inspect/snapshot.h"
#include "pipeline/recipe.h"

namespace bitlens::inspect {

// Every layer's spec and stored bits; error: its relative output error on the calibration sample.
pipeline::Recipe session_recipe(const Snapshot& s);
nlohmann::json snapshot_json(const Snapshot& s);

}  // namespace bitlens::inspect
