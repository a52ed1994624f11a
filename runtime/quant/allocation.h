// Budgeted bit allocation across layers (docs/METHODS.md section 6): every layer offers options (honest
// stored bits, measured error); choose one per layer to minimize the total error with
// sum(bits) <= budget. A multiple-choice knapsack, solved in two steps:
//  1. Lagrangian sweep: the options on each layer's lower convex hull of (bits, error); the hull
//     segments of all layers, taken in order of decreasing error saved per bit, trace the
//     solutions that minimize error + lambda * bits for every lambda. The last of them within the
//     budget (S_k) is optimal for its own bit count.
//  2. Fill: the best change of one layer, or of two layers at once (one may step down to pay for
//     the other), that fits the bits S_k leaves unused.
// Both steps depend on the budget only through what fits, so the error never grows when the
// budget grows. The LP relaxation at the budget bounds every allocation's error from below.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace bitlens::quant {

struct AllocationOption {
  uint64_t bits = 0;
  double error = 0.0;
};

struct AllocationLayer {
  std::vector<AllocationOption> options;
  int32_t fixed = -1;  // >= 0: this option is forced (a recipe fixed the layer by hand)
};

struct Allocation {
  std::vector<uint32_t> choice;  // option per layer
  uint64_t bits = 0;
  double error = 0.0;
  bool feasible = false;     // false: even the smallest options exceed the budget (choice = smallest)
  double hull_error = 0.0;   // error of S_k, the Lagrangian solution the fill started from
  double lower_bound = 0.0;  // no allocation within the budget has less error
};

Allocation allocate(std::span<const AllocationLayer> layers, uint64_t budget_bits);

// floor(target_bpw * weights): the bit budget of a target bits-per-weight.
uint64_t budget_bits(double target_bpw, uint64_t weights);

}  // namespace bitlens::quant
