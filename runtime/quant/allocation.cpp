// Convex hulls, the Lagrangian path and the one- and two-layer fill.
#include "quant/allocation.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "common/error.h"

namespace bitlens::quant {

namespace {

// Indices of a layer's options on the lower convex hull of (bits, error), from the fewest bits to
// the least error; errors strictly decrease along it.
std::vector<uint32_t> lower_hull(const std::vector<AllocationOption>& o) {
  std::vector<uint32_t> idx(o.size());
  std::iota(idx.begin(), idx.end(), 0u);
  std::sort(idx.begin(), idx.end(), [&](uint32_t a, uint32_t b) {
    return o[a].bits != o[b].bits ? o[a].bits < o[b].bits : o[a].error < o[b].error;
  });
  std::vector<uint32_t> hull;
  for (uint32_t i : idx) {
    if (!hull.empty() && o[i].error >= o[hull.back()].error) continue;  // dominated
    // Pop the last point while it lies on or above the segment from its predecessor to i.
    while (hull.size() >= 2) {
      const auto& a = o[hull[hull.size() - 2]];
      const auto& b = o[hull.back()];
      const double cross = double(b.bits - a.bits) * (o[i].error - a.error) -
                           (b.error - a.error) * double(o[i].bits - a.bits);
      if (cross > 0.0) break;
      hull.pop_back();
    }
    hull.push_back(i);
  }
  return hull;
}

struct Segment {
  uint32_t layer, step;  // hull[step] -> hull[step + 1]
  double slope;          // error change per bit (negative)
};

struct Move {
  uint32_t layer, option;
  int64_t dbits;
  double derror;
};

// The best one- or two-layer change of `choice` that fits `room` bits; applies it.
void fill(std::span<const AllocationLayer> layers, std::vector<uint32_t>& choice, int64_t room) {
  std::vector<Move> moves;
  for (uint32_t l = 0; l < layers.size(); ++l) {
    if (layers[l].fixed >= 0) continue;
    const auto& cur = layers[l].options[choice[l]];
    for (uint32_t k = 0; k < layers[l].options.size(); ++k)
      if (k != choice[l])
        moves.push_back({l, k, int64_t(layers[l].options[k].bits) - int64_t(cur.bits), layers[l].options[k].error - cur.error});
  }
  std::sort(moves.begin(), moves.end(), [](const Move& a, const Move& b) { return a.dbits < b.dbits; });
  // prefix[i]: the best move among moves[0..i], and the best of another layer than that one.
  struct Best {
    int32_t first = -1, second = -1;
  };
  std::vector<Best> prefix(moves.size());
  Best run;
  for (size_t i = 0; i < moves.size(); ++i) {
    const int32_t m = int32_t(i);
    if (run.first < 0 || moves[i].derror < moves[run.first].derror) {
      // The old best stays the best of the other layers unless it shares the new one's layer.
      if (run.first >= 0 && moves[run.first].layer != moves[i].layer) run.second = run.first;
      run.first = m;
    } else if (moves[i].layer != moves[run.first].layer &&
               (run.second < 0 || moves[i].derror < moves[run.second].derror)) {
      run.second = m;
    }
    prefix[i] = run;
  }
  double best = 0.0;
  int32_t pick1 = -1, pick2 = -1;
  auto last_fitting = [&](int64_t limit) {  // index of the last move with dbits <= limit, or -1
    const auto it = std::upper_bound(moves.begin(), moves.end(), limit, [](int64_t v, const Move& m) { return v < m.dbits; });
    return int32_t(it - moves.begin()) - 1;
  };
  for (size_t i = 0; i < moves.size(); ++i) {
    if (moves[i].dbits <= room && moves[i].derror < best) {
      best = moves[i].derror;
      pick1 = int32_t(i);
      pick2 = -1;
    }
    const int32_t j = last_fitting(room - moves[i].dbits);
    if (j < 0) continue;
    const int32_t other = moves[prefix[j].first].layer != moves[i].layer ? prefix[j].first : prefix[j].second;
    if (other >= 0 && moves[i].derror + moves[other].derror < best) {
      best = moves[i].derror + moves[other].derror;
      pick1 = int32_t(i);
      pick2 = other;
    }
  }
  if (pick1 >= 0) choice[moves[pick1].layer] = moves[pick1].option;
  if (pick2 >= 0) choice[moves[pick2].layer] = moves[pick2].option;
}

void totals(std::span<const AllocationLayer> layers, Allocation& a) {
  a.bits = 0;
  a.error = 0.0;
  for (size_t l = 0; l < layers.size(); ++l) {
    a.bits += layers[l].options[a.choice[l]].bits;
    a.error += layers[l].options[a.choice[l]].error;
  }
}

}  // namespace

uint64_t budget_bits(double target_bpw, uint64_t weights) {
  if (!(target_bpw > 0.0) || !std::isfinite(target_bpw)) throw Error("bit budget: target bits per weight must be positive");
  return uint64_t(std::floor(target_bpw * double(weights)));
}

Allocation allocate(std::span<const AllocationLayer> layers, uint64_t budget) {
  Allocation a;
  a.choice.assign(layers.size(), 0);
  std::vector<std::vector<uint32_t>> hulls(layers.size());
  std::vector<Segment> segments;
  for (uint32_t l = 0; l < layers.size(); ++l) {
    const auto& o = layers[l].options;
    if (o.empty()) throw Error("allocate: layer " + std::to_string(l) + " has no options");
    for (const auto& opt : o)
      if (!std::isfinite(opt.error) || opt.error < 0.0) throw Error("allocate: layer " + std::to_string(l) + " has an invalid error");
    if (layers[l].fixed >= int32_t(o.size())) throw Error("allocate: layer " + std::to_string(l) + " fixes a missing option");
    if (layers[l].fixed >= 0) {
      a.choice[l] = uint32_t(layers[l].fixed);
      continue;
    }
    hulls[l] = lower_hull(o);
    a.choice[l] = hulls[l][0];
    for (uint32_t s = 0; s + 1 < hulls[l].size(); ++s) {
      const auto& p = o[hulls[l][s]];
      const auto& q = o[hulls[l][s + 1]];
      segments.push_back({l, s, (q.error - p.error) / double(q.bits - p.bits)});
    }
  }
  totals(layers, a);
  if (a.bits > budget) {
    a.hull_error = a.lower_bound = a.error;
    return a;
  }
  a.feasible = true;
  std::stable_sort(segments.begin(), segments.end(), [](const Segment& x, const Segment& y) { return x.slope < y.slope; });
  uint64_t bits = a.bits;
  double error = a.error, bound = a.error;
  for (const Segment& s : segments) {
    const auto& p = layers[s.layer].options[hulls[s.layer][s.step]];
    const auto& q = layers[s.layer].options[hulls[s.layer][s.step + 1]];
    if (bits + (q.bits - p.bits) > budget) {
      bound = error + s.slope * double(budget - bits);
      break;
    }
    bits += q.bits - p.bits;
    error += q.error - p.error;
    bound = error;
    a.choice[s.layer] = hulls[s.layer][s.step + 1];
  }
  a.hull_error = error;
  a.lower_bound = bound;
  fill(layers, a.choice, int64_t(budget - bits));
  totals(layers, a);
  return a;
}

}  // namespace bitlens::quant
