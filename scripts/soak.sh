#!/usr/bin/env bash
# soak.sh -- issue 7's soak: `kubefault serve` with seeded random faults (tests/bench/soak.json)
# under thousands of concurrent keep-alive clients doing lists, gets, creates, deletes, watches and
# WebSocket exec sessions (tests/bench/soak.c) for a bounded time, while the server's resident
# memory is sampled every second. Prints one report and fails when the server dies, a request goes
# unanswered past its fault's bound (or gets an answer no fault explains), memory grows without
# bound, or the server does not exit 0 on SIGTERM.
#
# Usage: scripts/soak.sh [--duration S] [--connections N] [--seed N] [--rate OPS]
#   --duration S      seconds of load (default 60)
#   --connections N   concurrent clients, one connection each (default 2000; up to the open-files
#                     hard limit, which the script raises the soft limit to)
#   --seed N          seeds the scenario's faults and the clients' choices (default 1)
#   --rate OPS        operations a second all clients start together (default 500)
# The server serves plain HTTP (the driver speaks no TLS).
# Environment: SOAK_BUILD_DIR (default build; e.g. an ASan build dir to run the server under the
# sanitizers: it must already be configured), SOAK_KEEP=1 keeps the work directory.
#
# Memory verdict: the server's bounded caches are filled first -- the request journal by
# JOURNAL_DEFAULT_CAP (harness/journal.h) GET /version before the load, the watch history and the
# Events kept (CLUSTER_MAX_EVENTS) by the load's first third (warm-up) -- then the mean VmRSS of
# the last third must not exceed the mean of the middle third by more than 10% AND 16 MB together
# (both, so neither a small wobble on a small heap nor a slow drift on a large one fails alone).
#
# Exit 0 pass, 1 fail, 2 usage. Everything is bounded: the driver ends at --duration plus its
# drain bound, the script kills it at --duration + 120 s, and the server must exit within 10 s of
# SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=60 connections=2000 seed=1 rate=500
usage() {
  sed -n '9,15s/^# \{0,1\}//p' "$0" >&2
  exit 2
}
num() { [[ $2 =~ ^[0-9]+$ ]] || {
  echo "soak: $1 needs a number (got \"$2\")" >&2
  exit 2
}; }
while [ $# -gt 0 ]; do
  case $1 in
  --duration | --connections | --seed | --rate)
    [ $# -ge 2 ] || usage
    num "$1" "$2"
    case $1 in
    --duration) duration=$2 ;;
    --connections) connections=$2 ;;
    --seed) seed=$2 ;;
    --rate) rate=$2 ;;
    esac
    shift 2
    ;;
  -h | --help) usage ;;
  *)
    echo "soak: unknown argument \"$1\"" >&2
    usage
    ;;
  esac
done
[ "$duration" -ge 3 ] || {
  echo "soak: --duration must be at least 3 s (thirds of the run are compared)" >&2
  exit 2
}
if [ "$connections" -lt 1 ] || [ "$rate" -lt 1 ]; then
  echo "soak: --connections and --rate must be at least 1" >&2
  exit 2
fi
journal_cap=$(sed -n 's/^#define JOURNAL_DEFAULT_CAP \([0-9]*\).*/\1/p' harness/journal.h)
[ -n "$journal_cap" ] || {
  echo "soak: cannot read JOURNAL_DEFAULT_CAP from harness/journal.h" >&2
  exit 1
}

# the server and the driver only (the packages: scripts/setup.sh, as for the build)
build=${SOAK_BUILD_DIR:-build}
if [ -z "${SOAK_BUILD_DIR:-}" ]; then
  bash scripts/setup.sh >/dev/null
  echo "soak: building kubefault and the soak driver in $build (RelWithDebInfo)" >&2
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKF_SANITIZE=OFF >/dev/null
fi
cmake --build "$build" --target kubefault soak -j"$(nproc)" >/dev/null
bin=$build/kubefault
driver=$build/tests/soak

# one descriptor per client in the driver and one in the server
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ $((connections + 256)) -gt "$(ulimit -n)" ]; then
  echo "soak: $connections connections need more than the open-files limit $(ulimit -n)" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/kubefault-soak.XXXXXX")
kf_pid='' driver_pid='' sampler_pid=''
cleanup() {
  for p in $sampler_pid $driver_pid $kf_pid; do
    kill "$p" 2>/dev/null || true
  done
  if [ "${SOAK_KEEP:-0}" = 1 ]; then
    echo "soak: work directory kept: $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# the scenario with this run's seed
sed "s/^  \"seed\": [0-9]*,/  \"seed\": $seed,/" tests/bench/soak.json >"$work/soak.json"
grep -q "\"seed\": $seed," "$work/soak.json" || {
  echo "soak: could not set the seed in tests/bench/soak.json" >&2
  exit 1
}

pin_server=() pin_client=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  pin_server=(taskset -c 0)
  pin_client=(taskset -c 1)
fi

"${pin_server[@]}" "$bin" serve "$work/soak.json" --plain-http --quiet \
  --kubeconfig "$work/kubeconfig" >"$work/server.out" 2>"$work/server.err" &
kf_pid=$!
port=
for _ in $(seq 1 200); do
  port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/server.out")
  [ -n "$port" ] && break
  kill -0 "$kf_pid" 2>/dev/null || break
  sleep 0.05
done
if [ -z "$port" ]; then
  echo "soak: kubefault serve did not start:" >&2
  cat "$work/server.err" >&2
  exit 1
fi

# VmRSS every second, until the server or the run ends: "unix-time kB" lines
(
  while kill -0 "$kf_pid" 2>/dev/null; do
    kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$kf_pid/status" 2>/dev/null) || break
    [ -n "$kb" ] && echo "$(date +%s.%N) $kb"
    sleep 1
  done
) >"$work/rss" &
sampler_pid=$!

started=$(date -u '+%Y-%m-%d %H:%M UTC')
set +e
timeout --kill-after=10 $((duration + 120)) "${pin_client[@]}" "$driver" --port "$port" \
  --connections "$connections" --duration "$duration" --seed "$seed" --rate "$rate" \
  --fault-bound-ms 2000 --prefill "$journal_cap" --server-pid "$kf_pid" \
  >"$work/driver.out" 2>"$work/driver.err" &
driver_pid=$!
wait "$driver_pid"
driver_rc=$?
driver_pid=''
set -e

# the server must still be there, and leave cleanly on SIGTERM
alive=no exit_rc=-
if kill -0 "$kf_pid" 2>/dev/null; then
  alive=yes
  kill -TERM "$kf_pid"
  for _ in $(seq 1 100); do
    kill -0 "$kf_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$kf_pid" 2>/dev/null; then
    exit_rc="still running 10 s after SIGTERM"
    kill -KILL "$kf_pid" 2>/dev/null || true
  fi
fi
set +e
wait "$kf_pid" 2>/dev/null
rc=$?
set -e
[ "$exit_rc" = - ] && exit_rc=$rc
kf_pid=''
kill "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=''

# memory: thirds of the samples taken under load (from the driver's start, for --duration)
load_from=$(sed -n 's/^soak: load from unix time \([0-9.]*\):.*/\1/p' "$work/driver.err")
rss_verdict=$(awk -v from="${load_from:-0}" -v d="$duration" '
  NR == 1 { first = $2 }
  { all_last = $2; if (from > 0 && $1 >= from && $1 <= from + d) { n++; kb[n] = $2 } }
  END {
    if (n < 3) { print "fail\tfewer than 3 samples under load"; exit }
    min = kb[1]; max = kb[1]
    for (i = 1; i <= n; i++) { if (kb[i] < min) min = kb[i]; if (kb[i] > max) max = kb[i] }
    a = int(n / 3); b = int(2 * n / 3)
    for (i = a + 1; i <= b; i++) { sm += kb[i]; nm++ }
    for (i = b + 1; i <= n; i++) { sl += kb[i]; nl++ }
    mid = sm / nm; end = sl / nl
    grow = end - mid; pct = mid > 0 ? 100 * grow / mid : 0
    bad = (pct > 10 && grow > 16 * 1024)
    printf "%s\tVmRSS idle %.1f MB; under load (%d samples, 1 s apart): first %.1f, min %.1f, max %.1f, last %.1f MB; after the load %.1f MB. Mean of the middle third %.1f MB, of the last third %.1f MB: %+.1f MB (%+.1f%%)\n",
      bad ? "fail" : "pass", first / 1024, n, kb[1] / 1024, min / 1024, max / 1024, kb[n] / 1024, all_last / 1024, mid / 1024, end / 1024, grow / 1024, pct
  }' "$work/rss")

failures=$(sed -n 's/^soak_failures=//p' "$work/driver.out")
requests=$(sed -n 's/^soak_requests=//p' "$work/driver.out")

echo "kubefault soak, $started: $("$bin" --version 2>&1 | head -n 1), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: scripts/soak.sh --duration $duration --connections $connections --seed $seed --rate $rate"
echo
grep -v '^soak_' "$work/driver.out" || true
echo
echo "server memory: ${rss_verdict#*$'\t'}"
echo "rule: fail when the last third's mean exceeds the middle third's by more than 10% and 16 MB"
echo

verdict=pass
check() { # check NAME OK(0/1) DETAIL
  printf '%-34s %s  %s\n' "$1" "$([ "$2" = 1 ] && echo pass || echo FAIL)" "$3"
  [ "$2" = 1 ] || verdict=fail
}
check "driver ran to its end" "$([ "$driver_rc" -le 1 ] && [ -n "$failures" ] && echo 1 || echo 0)" \
  "exit status $driver_rc$([ "$driver_rc" = 124 ] && echo ' (killed by the timeout)')"
check "every request answered as expected" "$([ "${failures:-1}" = 0 ] && echo 1 || echo 0)" \
  "${requests:-0} answered, ${failures:-?} unexpected"
check "server memory bounded" "$([ "${rss_verdict%%$'\t'*}" = pass ] && echo 1 || echo 0)" \
  "$(tail -n 1 "$work/rss" | awk '{printf "%.1f MB at the end", $2 / 1024}')"
check "server alive at the end" "$([ "$alive" = yes ] && echo 1 || echo 0)" "$alive"
check "server exits 0 on SIGTERM" "$([ "$exit_rc" = 0 ] && echo 1 || echo 0)" "exit status $exit_rc"
if [ -s "$work/server.err" ]; then
  echo
  echo "server stderr (last 10 lines):"
  tail -n 10 "$work/server.err"
fi
if [ "$driver_rc" -gt 1 ] || [ -z "$failures" ]; then
  echo
  echo "driver stderr (last 10 lines):"
  tail -n 10 "$work/driver.err"
fi
echo
echo "soak: $verdict"
[ "$verdict" = pass ]
