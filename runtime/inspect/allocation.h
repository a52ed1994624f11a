// Budgeted bit allocation across layers (METHODS.md section 5): choose one option per layer to
// minimize the total cost subject to a total-bits budget, by a Lagrangian sweep (each layer picks
// argmin cost + lambda * bits; lambda is bisected to the budget) followed by a greedy use of the
// bits the sweep leaves unspent.
#pragma once

#include <cstdint>
#include <vector>

namespace bitlens::inspect {

struct AllocationOption {
  double bits = 0;  // total bits of the layer with this option
  double cost = 0;  // its error (additive over layers)
};

struct Allocation {
  std::vector<uint32_t> choice;  // chosen option index per layer
  double bits = 0, cost = 0;
};

// Throws Error when even the smallest option of every layer exceeds budget_bits, or when a layer
// has no options.
Allocation allocate_bits(const std::vector<std::vector<AllocationOption>>& options, double budget_bits);

}  // namespace bitlens::inspect
