# shellcheck shell=bash disable=SC2034  # pin_client, kf_port: used by the sections
# lib.sh -- what the benchmark sections share (sourced by scripts/bench/*.sh): result rows, a
# kubefault server on 127.0.0.1 with plain HTTP, CPU pinning, RSS, number formatting.
# The sections get from scripts/bench.sh: BENCH_BIN (kubefault), BENCH_ROWS (the table's rows, one
# TSV line each: benchmark, measured, target, met/missed/-), BENCH_HELPER (kfbench.py), BENCH_WORK
# (a private temp dir).

: "${BENCH_BIN:?run scripts/bench.sh}" "${BENCH_ROWS:?}" "${BENCH_WORK:?}" "${BENCH_HELPER:?}"

# row BENCHMARK MEASURED [TARGET] [RESULT]
row() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "${3:--}" "${4:--}" >>"$BENCH_ROWS"; }

# verdict VALUE OP LIMIT -> "met" or "missed" (OP: le or ge; numbers may be decimals); "-" when
# VALUE is not a number
verdict() {
  awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
    if (v !~ /^-?[0-9.]+$/) { print "-"; exit }
    ok = (op == "le") ? (v + 0 <= l + 0) : (v + 0 >= l + 0)
    print ok ? "met" : "missed" }'
}

# fmt NUMBER [DECIMALS] -> the number rounded (default 0 decimals)
fmt() { awk -v v="$1" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, v }'; }

# The server runs on CPU 0 and the load or clients on CPU 1 (on a machine with two or more CPUs),
# so neither steals the other's core and runs compare like with like.
pin_server=()
pin_client=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  pin_server=(taskset -c 0)
  pin_client=(taskset -c 1)
fi

# kf_start DIR [SERVE-OPTION...]: start `kubefault serve --plain-http --quiet` on a free port,
# wait (bounded) for its kubeconfig; sets kf_pid, kf_url (from the kubeconfig) and kf_port
kf_start() {
  local dir=$1
  shift
  mkdir -p "$dir"
  "${pin_server[@]}" "$BENCH_BIN" serve --plain-http --quiet --kubeconfig "$dir/kubeconfig" "$@" \
    >"$dir/out" 2>"$dir/err" &
  kf_pid=$!
  kf_url=
  for _ in $(seq 1 100); do
    grep -q "listening on" "$dir/out" 2>/dev/null && break
    kill -0 "$kf_pid" 2>/dev/null || break
    sleep 0.05
  done
  kf_url=$(sed -n 's/^ *server: "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$dir/kubeconfig" 2>/dev/null)
  kf_port=${kf_url##*:}
  if [ -z "$kf_url" ]; then
    echo "bench: kubefault did not start:" >&2
    cat "$dir/err" >&2
    return 1
  fi
}

# kf_stop: SIGTERM the server kf_start started and wait for it
kf_stop() {
  if [ -n "${kf_pid:-}" ]; then
    kill "$kf_pid" 2>/dev/null || true
    wait "$kf_pid" 2>/dev/null || true
    kf_pid=
  fi
}

# rss_kb PID -> VmRSS in kB
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

# kv FILE KEY -> the value of KEY=... in FILE (the helpers' output format)
kv() { sed -n "s/^$2=//p" "$1" | head -n 1; }
