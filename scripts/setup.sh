#!/usr/bin/env bash
# Installs the Debian packages bitlens needs (only those missing), then fetches the model and the
# evaluation texts (scripts/fetch_data.sh). Safe to run again: it does nothing that is done.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates python3
  libvulkan-dev glslang-tools spirv-tools mesa-vulkan-drivers vulkan-tools vulkan-validationlayers
  libglfw3-dev libimgui-dev libstb-dev xvfb xauth x11-apps
  libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev libcli11-dev
  clang libclang-rt-14-dev
  nodejs npm
)

# npm may come from outside Debian (e.g. a Node.js install): then the command is enough.
have_npm=0
if command -v npm >/dev/null 2>&1; then have_npm=1; fi
missing=()
for p in "${packages[@]}"; do
  if [ "$have_npm" = 1 ] && { [ "$p" = npm ] || [ "$p" = nodejs ]; }; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

./scripts/fetch_data.sh
