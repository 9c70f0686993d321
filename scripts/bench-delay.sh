#!/usr/bin/env bash
# bench-delay.sh -- how precisely an injected delay lands: for each requested delay, time GETs that a
# `delay` rule holds, subtract the same GET without a delay (median), and print the error
# distribution (p50, p99, max, in ms). A benchmark, not a test: it prints numbers and fails only
# when kubefault does not start. Usage: scripts/bench-delay.sh [SAMPLES] (default 40; at most 4 for
# delays of 1 s and up). Uses build/kubefault (run scripts/build.sh first).
set -euo pipefail
cd "$(dirname "$0")/.."
samples=${1:-40}
bin=./build/kubefault
[ -x "$bin" ] || { echo "bench-delay: build first (bash scripts/build.sh)" >&2; exit 2; }
command -v curl >/dev/null || { echo "bench-delay: needs curl" >&2; exit 2; }

delays=(1 2 5 10 50 100 1000 10000)
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

{
  echo '{"name": "delay precision benchmark", "rules": ['
  sep=
  for d in "${delays[@]}"; do
    printf '%s{"name": "d%s", "match": {"verb": "get", "resource": "configmaps", "name": "d%s"},
      "fault": {"type": "delay", "fixed": "%sms"}}' "$sep" "$d" "$d" "$d"
    sep=,
  done
  echo ']}'
} >"$work/bench.json"

"$bin" serve "$work/bench.json" --plain-http --quiet --kubeconfig "$work/kc" >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 1 100); do
  grep -q "listening on" "$work/out" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/.* listening on \(.*\)$/\1/p' "$work/out")
[ -n "$url" ] || { cat "$work/err" >&2; exit 1; }

# time N GETs of one name on one kept-alive connection; prints seconds to the first byte, one a line
measure() {
  local name=$1 n=$2 args=()
  for _ in $(seq 1 "$n"); do args+=(-o /dev/null "$url/api/v1/namespaces/default/configmaps/$name"); done
  curl -s -w '%{time_starttransfer}\n' "${args[@]}"
}

# percentile P of the numbers on stdin
pct() { sort -g | awk -v p="$1" '{v[NR]=$1} END {i=int((NR-1)*p/100)+1; printf "%.3f", v[i]}'; }

measure warmup 5 >/dev/null
base=$(measure base "$samples" | awk '{print $1*1000}' | pct 50)
printf 'kubefault delay precision (%s; baseline GET without a delay: %s ms median)\n' "$url" "$base"
printf '%10s %8s %10s %10s %10s\n' requested samples "p50 err" "p99 err" "max err"
for d in "${delays[@]}"; do
  n=$samples
  [ "$d" -ge 1000 ] && n=$((samples < 4 ? samples : 4))
  measure "d$d" "$n" | awk -v d="$d" -v b="$base" '{e=$1*1000-d-b; if (e<0) e=-e; print e}' >"$work/e"
  printf '%8s ms %8s %7s ms %7s ms %7s ms\n' "$d" "$n" "$(pct 50 <"$work/e")" "$(pct 99 <"$work/e")" \
    "$(pct 100 <"$work/e")"
done
