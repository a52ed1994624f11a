#!/usr/bin/env bash
# Regenerates the inspector screenshots in docs/img (one PNG per panel, docs/INSPECTOR.md): drives
# bitlens-inspect on the bundled model through a script, under Xvfb when there is no display.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cat > "$out/script.txt" <<SCRIPT
wait
select layers.1.w2
bits layers.1.w2 2
wait
budget 2.5
wait
scope group
focus 40 300
generate Once upon a time
wait
panels $out/panels
screenshot $out/inspector.png
quit
SCRIPT
cmd=(./build/gui/bitlens-inspect --size 1280x800 --quick-candidates --script "$out/script.txt")
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  xvfb-run -a -s '-screen 0 1280x800x24' "${cmd[@]}"
else
  "${cmd[@]}"
fi
mkdir -p docs/img
for f in "$out"/panels/*.png; do
  cp "$f" "docs/img/inspector_$(basename "$f" | tr '-' '_')"
done
cp "$out/inspector.png" docs/img/inspector.png
ls -l docs/img
