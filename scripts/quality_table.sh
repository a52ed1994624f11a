#!/usr/bin/env bash
# Reproduces the quality table of docs/QUALITY.md on stories15M: samples a calibration text and a
# held-out text from the fp32 model (different seeds), quantizes the model with every method at
# every budget into a .blq container, evaluates each container against the fp32 model (mean KL and
# top-1 agreement on Moby Dick, perplexity on the held-out text) and writes the markdown table into
# docs/QUALITY.md (between its quality-table markers) and OUT/table.md.
# Usage: scripts/quality_table.sh [OUT]   (default OUT: build/quality; finished rows are reused, so
# an interrupted run resumes). Environment: BITLENS (the binary), WINDOWS (eval windows, 32),
# KEEP=1 keeps the containers, BACKEND (held-out perplexity backend: cpu or vulkan).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BITLENS:-build/runtime/bitlens}
out=${1:-build/quality}
windows=${WINDOWS:-32}
backend=${BACKEND:-cpu}
model=data/stories15M.bin
tok=data/tokenizer.bin
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
mkdir -p "$out"

# Calibration: 16384 tokens of stories sampled with seed 4321 (63 windows of 256 = 16384 tokens,
# what `quantize` samples by default). Held-out: WINDOWS windows sampled with seed 1234.
if [[ ! -f $out/calib.txt ]]; then
  "$bin" eval "$model" --sampled --seed 4321 --windows 63 --second-half --save-text "$out/calib.txt" \
    --json "$out/fp32_calib.json" >/dev/null
fi
if [[ ! -f $out/heldout.txt ]]; then
  "$bin" eval "$model" --sampled --seed 1234 --windows "$windows" --second-half --save-text "$out/heldout.txt" \
    --json "$out/fp32_heldout.json" >/dev/null
fi

# One row: ID, then the quantize options. Writes ID.q.json (bpw, seconds), ID.md.json (Moby Dick
# KL / top-1 against fp32) and ID.ho.json (held-out perplexity), evaluating the written container.
row() {
  local id=$1
  shift
  [[ -f $out/$id.ho.json ]] && return
  echo "== $id: $*"
  "$bin" quantize "$model" --tokenizer "$tok" --calib-text "$out/calib.txt" -o "$out/$id.blq" \
    --json "$out/$id.q.json" "$@" >"$out/$id.log"
  "$bin" eval "$out/$id.blq" --tokenizer "$tok" --ref "$model" --moby-dick --windows "$windows" --second-half \
    --json "$out/$id.md.json" >>"$out/$id.log"
  "$bin" eval "$out/$id.blq" --tokenizer "$tok" --text "$out/heldout.txt" --windows "$windows" --second-half \
    --backend "$backend" --json "$out/$id.ho.json" >>"$out/$id.log"
  [[ ${KEEP:-0} == 1 ]] || rm -f "$out/$id.blq"
}

row float --method float --bits 32
for q in "2 128" "2 64" "3 128" "4 128"; do
  set -- $q
  for m in rtn clip gptq; do row "$m-q$1-g$2" --method $m --bits $1 --group $2; done
  for m in rtn gptq; do row "$m-rot-q$1-g$2" --method $m --bits $1 --group $2 --rotation both; done
done
row slim-b2-g128 --method slim --bits 2 --group 128
row slim-b2-g64 --method slim --bits 2 --group 64
row slim-b3-g128 --method slim --bits 3 --group 128
row ptq161-s0.1 --method ptq161 --salient 0.1
row ptq161-s0.2 --method ptq161 --salient 0.2
row ternary-g128 --method ternary --group 128
row ternary-g64 --method ternary --group 64
row tritplane-g128 --method tritplane --group 128
for b in 1.6 2 2.5 3 4; do row "alloc-$b" --target-bpw $b; done

python3 scripts/quality_table.py "$out" "$windows" docs/QUALITY.md
