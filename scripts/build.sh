#!/usr/bin/env bash
# Configures and builds bitlens into build/ (or $BITLENS_BUILD_DIR) with Ninja; extra arguments are
# passed to CMake (e.g. -DBITLENS_SANITIZE=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BITLENS_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja "$@" >/dev/null
cmake --build "$build"
