// Snapshot look-ups.
#include "inspect/snapshot.h"

namespace bitlens::inspect {

const LayerRow* Snapshot::find(std::string_view name) const {
  for (const auto& r : layers)
    if (r.name == name) return &r;
  return nullptr;
}

}  // namespace bitlens::inspect
