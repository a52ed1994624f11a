#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) into build-fuzz/ and runs each for a while,
# keeping what each run learns in build-fuzz/tests/fuzz/work/<target>/ so that runs add up; a log
# per run goes to build-fuzz/fuzz-logs/. Crashes are written there as crash-*/leak-*/timeout-*/oom-*
# files and end the script with a non-zero status. BITLENS_FUZZ_JOBS targets run at once (default 1).
#   scripts/fuzz.sh [SECONDS_PER_TARGET=300] [TARGET...]     e.g. scripts/fuzz.sh 600 gguf container
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
shift || true
jobs=${BITLENS_FUZZ_JOBS:-1}
BITLENS_BUILD_DIR=build-fuzz ./scripts/build.sh -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DBITLENS_FUZZ=ON -DBITLENS_TESTS=OFF -DBITLENS_BENCH=OFF -DBITLENS_GUI=OFF -DBITLENS_NATIVE=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.cpp; do targets+=("$(basename "$f" .cpp | sed 's/^fuzz_//')"); done
fi
mkdir -p build-fuzz/fuzz-logs

# One target's run; prints its log's summary lines and returns libFuzzer's status.
fuzz_one() {
  local t=$1 work=build-fuzz/tests/fuzz/work/$1
  local log=build-fuzz/fuzz-logs/$t-$(date +%Y%m%d-%H%M%S).log
  mkdir -p "$work"
  echo "fuzz_$t: ${seconds} s, log $log"
  local rc=0
  ASAN_OPTIONS=detect_leaks=1 BITLENS_THREADS=1 "build-fuzz/tests/fuzz/fuzz_$t" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=64 -print_final_stats=1 \
    -artifact_prefix="build-fuzz/fuzz-logs/$t-" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ *DONE)|ERROR|SUMMARY" "$log" | sed "s/^/fuzz_$t: /" || true
  return $rc
}

status=0
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || status=$?
    running=$((running - 1))
  fi
  fuzz_one "$t" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || status=$?
  running=$((running - 1))
done
exit $status
