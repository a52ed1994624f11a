#!/usr/bin/env bash
# The README's main command: installs what is missing, fetches the model and texts, builds,
# quantizes the bundled model (stories15M) with GPTQ to 4 bits, compares it with fp32 on Moby Dick,
# generates text with it on the Vulkan device, and opens the inspector where a display exists.
# Environment: BITLENS_BITS (default 4), BITLENS_DEVICE (device index or name).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
bits=${BITLENS_BITS:-4}
out=data/stories15M-gptq-q${bits}.blq
bitlens=./build/runtime/bitlens
echo "== quantizing data/stories15M.bin to $bits bits (GPTQ, groups of 64) -> $out"
"$bitlens" quantize data/stories15M.bin --method gptq --bits "$bits" --group 64 --eval 8 -o "$out"
echo "== generating with $out on Vulkan"
"$bitlens" run "$out" --tokenizer data/tokenizer.bin --backend vulkan -p "$(cat assets/prompts/default.txt)" -n 120
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "(no display, DISPLAY and WAYLAND_DISPLAY unset: the inspector, build/gui/bitlens-inspect, is not opened)"
elif [ ! -x build/gui/bitlens-inspect ]; then
  echo "(build/gui/bitlens-inspect was not built, GLFW or Dear ImGui missing: the inspector is not opened)"
else
  echo "== opening the inspector (docs/INSPECTOR.md)"
  ./build/gui/bitlens-inspect
fi
