#!/usr/bin/env bash
# Reproduces the quality table of docs/QUALITY.md on stories15M: samples a calibration text and a
# held-out text from the fp32 model (different seeds), quantizes the model with every method at
# every budget into a .blq container, evaluates each container against the fp32 model (mean KL and
# top-1 agreement on Moby Dick, perplexity on the held-out text) and writes the markdown table into
# docs/QUALITY.md (between its quality-table markers) and OUT/table.md.
# Usage: scripts/quality_table.sh [OUT]   (default OUT: build/quality; finished rows are reused, so
# an interrupted run resumes). Environment: BITLENS (the binary), WINDOWS (eval windows, 16),
# JOBS (rows at once, 3), KEEP=1 keeps the containers, BACKEND (held-out perplexity backend: cpu or vulkan).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BITLENS:-build/runtime/bitlens}
out=${1:-build/quality}
windows=${WINDOWS:-16}
backend=${BACKEND:-cpu}
jobs_max=${JOBS:-3}
model=data/stories15M.bin
tok=data/tokenizer.bin
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
mkdir -p "$out"

# Calibration: 16384 tokens of stories sampled with seed 4321 (63 windows of 256 = 16384 tokens,
# what `quantize` samples by default). Held-out: 32 windows of stories sampled with seed 1234, of
# which the first WINDOWS are scored.
if [[ ! -f $out/calib.txt ]]; then
  "$bin" eval "$model" --sampled --seed 4321 --windows 63 --second-half --save-text "$out/calib.txt" >/dev/null
fi
if [[ ! -f $out/heldout.txt ]]; then
  "$bin" eval "$model" --sampled --seed 1234 --windows 32 --second-half --save-text "$out/heldout.txt" >/dev/null
fi
if [[ ! -f $out/fp32_heldout.json ]]; then
  "$bin" eval "$model" --text "$out/heldout.txt" --windows "$windows" --second-half --json "$out/fp32_heldout.json" \
    >/dev/null
fi

# One row: ID, then the quantize options. Writes ID.q.json (bpw, seconds), ID.md.json (Moby Dick
# KL / top-1 against fp32) and ID.ho.json (held-out perplexity), evaluating the written container.
# A failed row is reported (its log kept) and left out of the table.
row_now() {
  local id=$1
  shift
  [[ -f $out/$id.ho.json ]] && return
  if ! mkdir "$out/$id.claim" 2>/dev/null; then
    echo "   $id skipped: claimed by another run (remove $out/$id.claim if none is running)"
    return 1
  fi
  echo "== $id: $*"
  if "$bin" quantize "$model" --tokenizer "$tok" --calib-text "$out/calib.txt" -o "$out/$id.blq" \
       --json "$out/$id.q.json" "$@" >"$out/$id.log" 2>&1 &&
     "$bin" eval "$out/$id.blq" --tokenizer "$tok" --ref "$model" --moby-dick --windows "$windows" --second-half \
       --json "$out/$id.md.json" >>"$out/$id.log" 2>&1 &&
     "$bin" eval "$out/$id.blq" --tokenizer "$tok" --text "$out/heldout.txt" --windows "$windows" --second-half \
       --backend "$backend" --json "$out/$id.ho.json" >>"$out/$id.log" 2>&1; then
    echo "   $id done"
  else
    echo "   $id FAILED, see $out/$id.log"
  fi
  [[ ${KEEP:-0} == 1 ]] || rm -f "$out/$id.blq"
  rmdir "$out/$id.claim"
}
# Runs up to JOBS rows at once (the machine's other work shares the cores).
row() {
  while (($(jobs -rp | wc -l) >= jobs_max)); do wait -n || true; done
  row_now "$@" || true &
}
uniform() {  # METHOD BITS GROUP [ROTATION]
  if [[ ${4:-none} == none ]]; then row "$1-q$2-g$3" --method "$1" --bits "$2" --group "$3"
  else row "$1-rot-q$2-g$3" --method "$1" --bits "$2" --group "$3" --rotation "$4"; fi
}
# Budgeted allocations of one objective and candidate set share one measurement of every
# candidate (the same calibration), so they run one after another in one job.
# OBJECTIVE: fisher (errors weighted by each layer's output Fisher, the default of quantize) or
# output (plain output errors). CANDIDATES: gptq (GPTQ at 2, 3, 4, 8 bits, groups 64 and 128,
# plain and rotated, and f16) or all (adds SliM-LLM, PTQ1.61, ternary and trit-planes, several
# times slower to measure).
allocs() {  # OBJECTIVE CANDIDATES BUDGET...
  local objective=$1 candidates=$2
  shift 2
  for b in "$@"; do
    row_now "alloc-$objective-$candidates-$b" --target-bpw "$b" --objective "$objective" --candidates "$candidates" \
      --measurements "$out/measurements-$objective-$candidates.json" ||
      return 0  # another run is measuring
  done
}

# Most telling rows first (an interrupted run still answers the main questions).
allocs fisher gptq 2.5 3 4 &
allocs fisher all 2.5 2 3 4 &
allocs output gptq 2.5 3 4 &
row float --method float --bits 32
for q in "2 64" "3 128" "2 128"; do
  set -- $q
  uniform rtn $1 $2; uniform gptq $1 $2; uniform gptq $1 $2 both
done
row slim-b2-g64 --method slim --bits 2 --group 64
row ptq161-s0.2 --method ptq161 --salient 0.2
row tritplane-g128 --method tritplane --group 128
uniform gptq 4 128; uniform rtn 4 128
uniform rtn 2 64 both; uniform rtn 3 128 both
row slim-b3-g128 --method slim --bits 3 --group 128
row ternary-g128 --method ternary --group 128
row ptq161-s0.1 --method ptq161 --salient 0.1
for q in "2 64" "3 128" "2 128" "4 128"; do
  set -- $q
  uniform clip $1 $2
done
uniform gptq 4 128 both; uniform rtn 2 128 both; uniform rtn 4 128 both
for q in "2 64" "3 128" "2 128" "4 128"; do
  set -- $q
  uniform gptq-clip $1 $2
done
uniform gptq-clip 2 64 both; uniform gptq-clip 3 128 both; uniform gptq-clip 2 128 both; uniform gptq-clip 4 128 both
row slim-b2-g128 --method slim --bits 2 --group 128
row ternary-g64 --method ternary --group 64

wait
python3 scripts/quality_table.py "$out" "$windows" docs/QUALITY.md
