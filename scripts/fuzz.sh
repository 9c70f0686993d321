#!/usr/bin/env bash
# fuzz.sh -- build the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang, ASan and UBSan into
# build-fuzz/ and run each for a bounded time, several at once; print one table.
#
#   bash scripts/fuzz.sh [--time SECONDS] [--jobs N] [--merge] [TARGET...]
#
#   --time S   seconds per target (default 60)
#   --jobs N   targets run at once (default: nproc)
#   --merge    afterwards, add the inputs that found new coverage to tests/fuzz/corpus/TARGET/
#              (libFuzzer's -merge=1; without it the tree is never written)
#   TARGET     http, spdy, ... (default: every tests/fuzz/fuzz_*.c)
#
# Each target starts from a temporary copy of tests/fuzz/corpus/TARGET/ and
# tests/fuzz/regressions/TARGET/, with tests/fuzz/TARGET.dict when there is one. A crash, leak,
# timeout or out-of-memory input is kept in build-fuzz/artifacts/TARGET/; the script prints the
# command that reproduces it and the one that adds it to the regressions (replayed by every
# `ctest -L fuzz`), and exits 1. FUZZ_BUILD_DIR overrides build-fuzz; FUZZ_KEEP=1 keeps the
# working directory (logs, corpora). Exit status: 0 all clean, 1 something found (or the build
# failed), 2 bad usage.
set -euo pipefail
cd "$(dirname "$0")/.."

time_s=60
jobs=$(nproc)
merge=0
targets=()
usage() {
  sed -n '5,11p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --time) [ $# -ge 2 ] || usage; time_s=$2; shift 2 ;;
    --jobs) [ $# -ge 2 ] || usage; jobs=$2; shift 2 ;;
    --merge) merge=1; shift ;;
    -h|--help) usage ;;
    -*) echo "fuzz.sh: unknown option \"$1\"" >&2; usage ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ "$time_s" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --time wants seconds, got \"$time_s\"" >&2; exit 2; }
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --jobs wants a number, got \"$jobs\"" >&2; exit 2; }

known=()
for f in tests/fuzz/fuzz_*.c; do
  n=${f##*/fuzz_}
  known+=("${n%.c}")
done
if [ ${#targets[@]} -eq 0 ]; then
  targets=("${known[@]}")
fi
for t in "${targets[@]}"; do
  if [[ " ${known[*]} " != *" $t "* ]]; then
    echo "fuzz.sh: unknown target \"$t\" (known: ${known[*]})" >&2
    exit 2
  fi
done

# The longest input each target is given: a few requests, a frame sequence, a scenario file.
max_len() {
  case "$1" in
    http|gitlab|scenario) echo 16384 ;;
    json|spdy|proto|runnerproto) echo 8192 ;;
    ws|patch) echo 4096 ;;
    selector) echo 1024 ;;
    *) echo 4096 ;;
  esac
}

bash scripts/setup.sh >/dev/null
build=${FUZZ_BUILD_DIR:-build-fuzz}
echo "== fuzz build (clang, libFuzzer + ASan + UBSan) in $build"
mkdir -p "$build"
if ! { CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKF_FUZZ=ON \
         -DKF_TESTS=OFF -DKF_WERROR=ON &&
       cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"; } >"$build/fuzz-build.log" 2>&1; then
  tail -n 30 "$build/fuzz-build.log" >&2
  echo "fuzz.sh: the fuzz build failed (whole log: $build/fuzz-build.log)" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/kf-fuzz.XXXXXX")
cleanup() {
  if [ "${FUZZ_KEEP:-0}" = 1 ]; then echo "fuzz.sh: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
bin=$(cd "$build" && pwd)/tests/fuzz
art_root=$(cd "$build" && pwd)/artifacts

# Run one target; its log goes to $work/NAME.log and its exit status to $work/NAME.rc.
run_one() {
  local t=$1 corpus=$work/$1/corpus art=$art_root/$1/
  mkdir -p "$corpus" "$art"
  for d in tests/fuzz/corpus/$t tests/fuzz/regressions/$t; do
    [ -d "$d" ] && find "$d" -maxdepth 1 -type f ! -name '.*' -exec cp {} "$corpus/" \;
  done
  local args=(-max_total_time="$time_s" -timeout=25 -rss_limit_mb=2048 -max_len="$(max_len "$t")"
              -print_final_stats=1 -artifact_prefix="$art")
  [ -f "tests/fuzz/$t.dict" ] && args+=(-dict="tests/fuzz/$t.dict")
  local rc=0
  # the bound on top of libFuzzer's own: a target stuck outside its inputs cannot hang CI
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 TMPDIR="$work" \
    timeout --kill-after=10 $((time_s + 120)) "$bin/fuzz_$t" "${args[@]}" "$corpus" \
    >"$work/$t.log" 2>&1 || rc=$?
  echo "$rc" >"$work/$t.rc"
}

echo "== fuzzing ${#targets[@]} targets for ${time_s}s each, $jobs at a time"
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_one "$t" &
  running=$((running + 1))
done
wait

# One row per target from libFuzzer's final stats and its last status line.
status=0
printf '%-12s | %7s | %10s | %8s | %6s | %7s | %15s | %s\n' target seconds execs exec/s cov ft corpus result
printf -- '-------------|---------|------------|----------|--------|---------|-----------------|-------\n'
found=()
for t in "${targets[@]}"; do
  log=$work/$t.log
  rc=$(cat "$work/$t.rc" 2>/dev/null || echo 99)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
  last=$(grep -a -E '^#[0-9]+.*cov: ' "$log" | tail -n1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[bKM]*\).*/\1/p' <<<"$last")
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n1)
  artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n1)
  if [ "$rc" = 0 ]; then
    result=ok
  else
    status=1
    case "${artifact##*/}" in
      crash-*) result=CRASH ;;
      leak-*) result=LEAK ;;
      timeout-*) result=TIMEOUT ;;
      oom-*) result=OOM ;;
      *) result="FAILED (exit $rc)" ;;
    esac
    found+=("$t|$result|$artifact")
  fi
  printf '%-12s | %7s | %10s | %8s | %6s | %7s | %15s | %s\n' "$t" "${secs:--}" "${execs:--}" \
    "${eps:--}" "${cov:--}" "${ft:--}" "${corp:--}" "$result"
done

for f in "${found[@]}"; do
  IFS='|' read -r t result artifact <<<"$f"
  echo
  echo "== $t: $result"
  grep -a -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|fuzz_[a-z]+: ' \
    "$work/$t.log" || tail -n 20 "$work/$t.log"
  if [ -n "$artifact" ]; then
    echo "reproduce:  $bin/fuzz_$t $artifact"
    echo "   (or in any build: build/tests/fuzz/fuzz_$t $artifact)"
    echo "keep it:    mkdir -p tests/fuzz/regressions/$t && cp $artifact tests/fuzz/regressions/$t/WHAT-IT-IS.bin"
  else
    echo "no artifact; the log's end:"
    tail -n 20 "$work/$t.log"
  fi
done

if [ "$merge" = 1 ]; then
  echo
  for t in "${targets[@]}"; do
    mkdir -p "tests/fuzz/corpus/$t"
    before=$(find "tests/fuzz/corpus/$t" -type f | wc -l)
    "$bin/fuzz_$t" -merge=1 -max_len="$(max_len "$t")" "tests/fuzz/corpus/$t" "$work/$t/corpus" \
      >"$work/$t.merge.log" 2>&1 || { echo "fuzz.sh: merge of $t failed (see $work/$t.merge.log)"; status=1; }
    after=$(find "tests/fuzz/corpus/$t" -type f | wc -l)
    echo "merge: $t: $((after - before)) inputs added to tests/fuzz/corpus/$t/"
  done
fi
exit "$status"
