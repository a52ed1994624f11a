// parallel_for: split [0, n) into contiguous chunks over the hardware threads (CPU reference paths).
#pragma once

#include <cstddef>
#include <functional>

namespace bitlens {

// Number of worker threads used by parallel_for (BITLENS_THREADS overrides the hardware count).
unsigned cpu_threads();

// Calls fn(begin, end) on disjoint chunks covering [0, n); blocks until all chunks are done.
// min_chunk keeps tiny loops on the calling thread.
void parallel_for(size_t n, const std::function<void(size_t, size_t)>& fn, size_t min_chunk = 1);

}  // namespace bitlens
