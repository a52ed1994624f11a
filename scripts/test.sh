#!/usr/bin/env bash
# The README's test command: installs what is missing, fetches the model and texts, builds, and
# runs the whole suite with ctest (GPU tests on whatever Vulkan device exists, lavapipe on CI;
# GUI tests under Xvfb when there is no display), then builds the libFuzzer targets with clang and
# gives each a short run.
#   --sanitize   build with AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/ and run
#                the suite there (no fuzzing)
#   --no-fuzz    skip the fuzz build and runs
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

build=build
fuzz=1
sanitize=0
cmake_args=()
for arg in "$@"; do
  case "$arg" in
    --sanitize)
      build=build-asan
      fuzz=0
      cmake_args=(-DBITLENS_SANITIZE=ON -DBITLENS_NATIVE=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBITLENS_BENCH=OFF)
      export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
      # Leaks inside the Vulkan driver and loader are not ours.
      export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp
      sanitize=1
      ;;
    --no-fuzz) fuzz=0 ;;
    *) echo "usage: $0 [--sanitize] [--no-fuzz]" >&2; exit 2 ;;
  esac
done
BITLENS_BUILD_DIR=$build ./scripts/build.sh ${cmake_args[@]+"${cmake_args[@]}"}
if [ "$fuzz" = 1 ]; then
  BITLENS_BUILD_DIR=build-fuzz ./scripts/build.sh -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DBITLENS_FUZZ=ON -DBITLENS_TESTS=OFF -DBITLENS_BENCH=OFF -DBITLENS_GUI=OFF -DBITLENS_NATIVE=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi

export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
status=0
run=(ctest --test-dir "$build" --output-on-failure -j "$(nproc)")
if [ "$sanitize" = 1 ]; then
  # The Vulkan loader dlcloses the driver when an instance goes away, and LeakSanitizer cannot name
  # the frames of an unloaded library, so tests/lsan.supp would not match the driver's leaks. A
  # preloaded library stays loaded (ASan then does not come first in the list). Not the validation
  # layer: it exports vkGetInstanceProcAddr and friends, which would interpose the loader's own.
  preload=""
  for manifest in /usr/share/vulkan/icd.d/lvp_icd.*.json; do
    lib=$(sed -n 's/.*"library_path": *"\([^"]*\)".*/\1/p' "$manifest" 2>/dev/null | head -n 1)
    if [ -n "$lib" ]; then preload="$preload${preload:+ }$lib"; fi
  done
  export ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0
  run=(env LD_PRELOAD="$preload" "${run[@]}")
fi
if [ -z "${DISPLAY:-}" ] && command -v xvfb-run >/dev/null 2>&1; then
  xvfb-run -a -s '-screen 0 1280x800x24' "${run[@]}" || status=$?
else
  "${run[@]}" || status=$?
fi
if [ "$fuzz" = 1 ]; then
  ctest --test-dir build-fuzz --output-on-failure -j "$(nproc)" || status=$?
fi
exit $status
