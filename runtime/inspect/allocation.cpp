// Lagrangian bit allocation.
#include "inspect/allocation.h"

#include <cmath>

#include "common/error.h"

namespace bitlens::inspect {

namespace {

Allocation pick(const std::vector<std::vector<AllocationOption>>& options, double lambda) {
  Allocation a;
  for (const auto& layer : options) {
    uint32_t best = 0;
    for (uint32_t i = 1; i < layer.size(); ++i) {
      const double ci = layer[i].cost + lambda * layer[i].bits, cb = layer[best].cost + lambda * layer[best].bits;
      if (ci < cb || (ci == cb && layer[i].bits < layer[best].bits)) best = i;
    }
    a.choice.push_back(best);
    a.bits += layer[best].bits;
    a.cost += layer[best].cost;
  }
  return a;
}

// Spends leftover bits: repeatedly takes the upgrade with the best cost drop per extra bit that fits.
void fill(const std::vector<std::vector<AllocationOption>>& options, double budget_bits, Allocation& a) {
  for (;;) {
    double best_gain = 0;
    size_t best_layer = 0;
    uint32_t best_option = 0;
    for (size_t l = 0; l < options.size(); ++l) {
      const auto& cur = options[l][a.choice[l]];
      for (uint32_t i = 0; i < options[l].size(); ++i) {
        const double extra = options[l][i].bits - cur.bits, drop = cur.cost - options[l][i].cost;
        if (drop <= 0 || a.bits + extra > budget_bits) continue;
        const double gain = extra > 0 ? drop / extra : INFINITY;
        if (gain > best_gain) {
          best_gain = gain;
          best_layer = l;
          best_option = i;
        }
      }
    }
    if (best_gain <= 0) return;
    const auto& cur = options[best_layer][a.choice[best_layer]];
    a.bits += options[best_layer][best_option].bits - cur.bits;
    a.cost += options[best_layer][best_option].cost - cur.cost;
    a.choice[best_layer] = best_option;
  }
}

}  // namespace

Allocation allocate_bits(const std::vector<std::vector<AllocationOption>>& options, double budget_bits) {
  double min_bits = 0;
  for (size_t l = 0; l < options.size(); ++l) {
    if (options[l].empty()) throw Error("bit allocation: layer " + std::to_string(l) + " has no options");
    double m = INFINITY;
    for (const auto& o : options[l]) m = std::fmin(m, o.bits);
    min_bits += m;
  }
  if (min_bits > budget_bits * (1 + 1e-12))
    throw Error("bit allocation: the budget is below the smallest possible size");
  Allocation a = pick(options, 0.0);
  if (a.bits > budget_bits) {
    double lo = 0, hi = 1;
    while (pick(options, hi).bits > budget_bits && hi < 1e300) hi *= 16;
    for (int it = 0; it < 200; ++it) {
      const double mid = 0.5 * (lo + hi);
      (pick(options, mid).bits > budget_bits ? lo : hi) = mid;
    }
    a = pick(options, hi);
  }
  fill(options, budget_bits, a);
  return a;
}

}  // namespace bitlens::inspect
