#!/usr/bin/env bash
# startup.sh -- bench section 2: time from exec of `kubefault serve --plain-http` to its first
# answer (GET /version, polled from the other CPU in a tight connect loop; target <= 10 ms), the
# same over TLS (certificates made per run), and the wall time `kubefault run` adds around a
# trivial command (`true`). Medians of BENCH_RUNS runs (default 11).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/bench/lib.sh
. scripts/bench/lib.sh

runs=${BENCH_RUNS:-11}
work=$BENCH_WORK/startup
mkdir -p "$work"

python3 "$BENCH_HELPER" startup "$BENCH_BIN" "$runs" >"$work/plain"
python3 "$BENCH_HELPER" startup "$BENCH_BIN" "$runs" --tls >"$work/tls"
m=$(kv "$work/plain" startup_median_ms)
row "startup: exec serve --plain-http -> first answer (median of $(kv "$work/plain" startup_runs))" \
  "$(fmt "$m" 2) ms (min $(fmt "$(kv "$work/plain" startup_min_ms)" 2), max $(fmt "$(kv "$work/plain" startup_max_ms)" 2); spawning \`true\` the same way: $(fmt "$(kv "$work/plain" spawn_true_median_ms)" 2) ms)" \
  "<= 10 ms" "$(verdict "$m" le 10)"
row "startup: exec serve (TLS, new CA+cert) -> first answer (median of $(kv "$work/tls" startup_runs))" \
  "$(fmt "$(kv "$work/tls" startup_median_ms)" 2) ms"

echo '{"name": "bench: a trivial scenario"}' >"$work/trivial.json"
python3 "$BENCH_HELPER" runoverhead "$BENCH_BIN" "$work/trivial.json" "$runs" >"$work/run"
bad=$(kv "$work/run" run_failures)
note=
[ "$bad" != 0 ] && note=", $bad runs exited non-zero"
row "kubefault run SCENARIO -- true: time added to \`true\` (median of $runs)" \
  "$(fmt "$(kv "$work/run" overhead_ms)" 1) ms ($(fmt "$(kv "$work/run" run_median_ms)" 1) vs $(fmt "$(kv "$work/run" true_median_ms)" 1) ms$note)"
