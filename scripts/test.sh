#!/usr/bin/env bash
# The README's test command: installs what is missing, fetches the model and texts, builds, and
# runs the whole suite with ctest (GPU tests on whatever Vulkan device exists, lavapipe on CI;
# GUI tests under Xvfb when there is no display). `--sanitize` builds with AddressSanitizer and
# UndefinedBehaviorSanitizer into build-asan/ and runs the suite there.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

build=build
cmake_args=()
if [ "${1:-}" = "--sanitize" ]; then
  build=build-asan
  cmake_args=(-DBITLENS_SANITIZE=ON -DBITLENS_NATIVE=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBITLENS_BENCH=OFF)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  # Leaks inside the Vulkan driver and loader are not ours.
  export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp
fi
BITLENS_BUILD_DIR=$build ./scripts/build.sh ${cmake_args[@]+"${cmake_args[@]}"}

export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
run=(ctest --test-dir "$build" --output-on-failure -j "$(nproc)")
if [ -z "${DISPLAY:-}" ] && command -v xvfb-run >/dev/null 2>&1; then
  xvfb-run -a -s '-screen 0 1280x800x24' "${run[@]}"
else
  "${run[@]}"
fi
