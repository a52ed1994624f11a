#!/usr/bin/env bash
# Regenerates the inspector screenshots of docs/INSPECTOR.md: drives bitlens-inspect on the bundled
# model through assets/scripts/screenshots.txt, under Xvfb when there is no display, twice: at UI
# scale 1 in a 1280x800 window (docs/img/*.png) and at UI scale 2 in a 2560x1600 window
# (docs/img/2x/*.png). Each run writes the whole window and one PNG per panel.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# shoot SCALE WIDTHxHEIGHT DEST: runs the script in an empty folder, where it writes its pictures;
# data/ there links to the repository's, so the window shows the model as data/stories15M.bin.
shoot() {
  local scale=$1 size=$2 dest=$3 out="$work/$1"
  mkdir -p "$out"
  ln -s "$root/data" "$out/data"
  local cmd=("$root/build/gui/bitlens-inspect" --size "$size" --ui-scale "$scale" --quick-candidates
             --script "$root/assets/scripts/screenshots.txt")
  if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    (cd "$out" && xvfb-run -a -s "-screen 0 ${size}x24" "${cmd[@]}")
  else
    (cd "$out" && "${cmd[@]}")
  fi
  mkdir -p "$dest"
  for f in "$out"/panels/*.png; do
    cp "$f" "$dest/inspector_$(basename "$f" | tr '-' '_')"
  done
  cp "$out/inspector.png" "$dest/inspector.png"
}

shoot 1 1280x800 docs/img
shoot 2 2560x1600 docs/img/2x
ls -l docs/img docs/img/2x
