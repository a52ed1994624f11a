#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) into build-fuzz/ and runs each for a while,
# one process at a time, keeping what each run learns in build-fuzz/tests/fuzz/work/<target>/ so
# that runs add up; a log per run goes to build-fuzz/fuzz-logs/. Crashes are written there as
# crash-*/leak-*/timeout-*/oom-* files and end the script with a non-zero status.
#   scripts/fuzz.sh [SECONDS_PER_TARGET=300] [TARGET...]     e.g. scripts/fuzz.sh 600 gguf container
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
shift || true
BITLENS_BUILD_DIR=build-fuzz ./scripts/build.sh -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DBITLENS_FUZZ=ON -DBITLENS_TESTS=OFF -DBITLENS_BENCH=OFF -DBITLENS_GUI=OFF -DBITLENS_NATIVE=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.cpp; do targets+=("$(basename "$f" .cpp | sed 's/^fuzz_//')"); done
fi
mkdir -p build-fuzz/fuzz-logs
status=0
for t in "${targets[@]}"; do
  work=build-fuzz/tests/fuzz/work/$t
  log=build-fuzz/fuzz-logs/$t-$(date +%Y%m%d-%H%M%S).log
  mkdir -p "$work"
  echo "fuzz_$t: ${seconds} s, log $log"
  ASAN_OPTIONS=detect_leaks=1 BITLENS_THREADS=1 "build-fuzz/tests/fuzz/fuzz_$t" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=64 -print_final_stats=1 \
    -artifact_prefix=build-fuzz/fuzz-logs/ "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1 || status=$?
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ *DONE)|ERROR|SUMMARY" "$log" || true
done
exit $status
