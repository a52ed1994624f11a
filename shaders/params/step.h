// State the host writes before replaying a recorded forward pass (a storage buffer shared by C++
// and GLSL), so that one recording serves every position.
#ifndef BITLENS_PARAMS_STEP_H
#define BITLENS_PARAMS_STEP_H

#ifdef __cplusplus
#include <cstdint>
namespace bitlens::kernels {
using uint = uint32_t;
#endif

struct StepState {
  uint pos0;  // position of the first token of this call; token t sits at pos0 + t
};

#ifdef __cplusplus
static_assert(sizeof(StepState) == 4);
}  // namespace bitlens::kernels
#endif

#endif
