#!/usr/bin/env bash
# delay.sh -- bench section 5: fault timing precision, from scripts/bench-delay.sh (requested vs
# observed delay of a `delay` rule, 1 ms to 10 s; BENCH_DELAY_SAMPLES GETs per delay, default 40,
# at most 4 for 1 s and up). One row per requested delay: p99 error (target <= 1 ms).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/bench/lib.sh
. scripts/bench/lib.sh

out=$BENCH_WORK/delay.out
bash scripts/bench-delay.sh "${BENCH_DELAY_SAMPLES:-40}" >"$out"
base=$(sed -n 's/.*without a delay: \([0-9.]*\) ms median.*/\1/p' "$out")
# rows of bench-delay.sh: "   10 ms       40   0.123 ms   0.456 ms   0.789 ms"
while read -r req _ms n p50 _ p99 _ max _; do
  row "fault delay ${req} ms: |observed - requested| ($n GETs; p50 $p50, max $max ms)" \
    "$p99 ms p99" "<= 1 ms p99" "$(verdict "$p99" le 1)"
done < <(awk '$2 == "ms" && $1 ~ /^[0-9]+$/' "$out")
row "fault delay: baseline GET without a delay (curl, median)" "$base ms"
