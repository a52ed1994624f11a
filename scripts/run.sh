#!/usr/bin/env bash
# The README's main command: installs what is missing, fetches the model and texts, builds, and
# runs the kernel benchmark on the chosen Vulkan device; with a display, it then opens the inspector
# on the bundled model.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
./build/bench/bitlens_bench --benchmark_filter='288|768' --benchmark_min_time=0.05
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "run.sh: no display (DISPLAY and WAYLAND_DISPLAY are unset): not opening the inspector"
elif [ ! -x build/gui/bitlens-inspect ]; then
  echo "run.sh: build/gui/bitlens-inspect was not built (GLFW or Dear ImGui missing): not opening the inspector"
else
  ./build/gui/bitlens-inspect
fi
