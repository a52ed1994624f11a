#!/usr/bin/env bash
# Reproduces the ApiQ section of docs/QUALITY.md: stories15M at 2 bits (group 64) and at the 2.5 bpw
# budget, RTN / GPTQ / ApiQ / ApiQ + saliency regularizer (before and after LoRA), seeds 1-3 (seed s
# calibrates on Moby Dick chapters 10s+11..10s+20, 4 x 256 tokens, and initialises LoRA), each
# compared with fp32 on the first 8 windows of Moby Dick chapters 1-20 (bitlens quantize --eval,
# the protocol of bitlens eval --ref). Sized for 2 heavily shared cores.
# Usage: scripts/quality_apiq.sh OUT_DIR [parallel jobs]; then scripts/quality_apiq_table.py OUT_DIR.
set -euo pipefail
OUT=${1:?output folder}
JOBS=${2:-3}
BIN=${BIN:-./build/runtime/bitlens}
MODEL=${MODEL:-data/stories15M.bin}
COMMON="--calib-tokens 1024 --eval 8 --epochs 8"
mkdir -p "$OUT"
for s in 1 2 3; do
  for c in $(seq $((10 * s + 11)) $((10 * s + 20))); do cat "data/texts/moby-dick/chapter_$c.txt"; done >"$OUT/calib_s$s.txt"
done
jobs_list() {
  echo "w2_rtn --method rtn --bits 2 --group 64 --calib-text $OUT/calib_s1.txt"
  for s in 1 2 3; do
    cs="$OUT/calib_s$s.txt"
    echo "w2_gptq_s$s --method gptq --bits 2 --group 64 --calib-text $cs"
    echo "w2_apiq_s$s --method apiq --bits 2 --group 64 --seed $s --calib-text $cs"
    echo "w2_apiqsal-after_s$s --method apiq-sal --regularizer after --bits 2 --group 64 --seed $s --calib-text $cs"
    echo "w2_apiqsal-before_s$s --method apiq-sal --regularizer before --bits 2 --group 64 --seed $s --calib-text $cs"
  done
  # The budget rows allocate on the plain output error (--objective output), as when this section
  # was first measured; the three ApiQ variants of a seed share one measurement of the candidates.
  for s in 1 2 3; do
    cs="$OUT/calib_s$s.txt"
    budget="--target-bpw 2.5 --objective output --calib-text $cs"
    apiq="$budget --rank 2 --seed $s --measurements $OUT/measurements_apiq_s$s.json"
    echo "b25_gptq_s$s --method gptq --candidates gptq $budget"
    echo "b25_apiq_s$s --method apiq $apiq"
    echo "b25_apiqsal-after_s$s --method apiq-sal --regularizer after $apiq"
    echo "b25_apiqsal-before_s$s --method apiq-sal --regularizer before $apiq"
  done
}
run_one() {
  name=$1; shift
  [ -f "$OUT/$name.json" ] && return 0
  "$BIN" quantize "$MODEL" $COMMON "$@" -o "$OUT/$name.blq" --json "$OUT/$name.json" >"$OUT/$name.log" 2>&1 \
    || echo "$name failed (see $OUT/$name.log)"
}
export -f run_one
export OUT BIN MODEL COMMON
jobs_list | xargs -P "$JOBS" -L 1 bash -c 'run_one "$@"' _
