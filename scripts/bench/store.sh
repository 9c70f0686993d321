#!/usr/bin/env bash
# store.sh -- bench section 4: BENCH_PODS pods (default 100000) created over one keep-alive
# connection, then the time of a full list (GET /api/v1/pods, median of 3) and of the whole list
# in pages of 500 (limit/continue), and kubefault's resident memory. Creating stops after
# BENCH_CREATE_TIMEOUT seconds (default 300), paging after BENCH_PAGES_TIMEOUT (default 60); the
# rows then say how many pods and pages there were.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/bench/lib.sh
. scripts/bench/lib.sh

pods=${BENCH_PODS:-100000}
work=$BENCH_WORK/store
mkdir -p "$work"
trap 'kf_stop' EXIT

kf_start "$work/kf"
rss0=$(rss_kb "$kf_pid")
"${pin_client[@]}" python3 "$BENCH_HELPER" create "$kf_port" "$pods" "${BENCH_CREATE_TIMEOUT:-300}" \
  >"$work/create"
made=$(kv "$work/create" created)
err=$(kv "$work/create" error)
row "store: create $pods pods (one keep-alive client)" \
  "$made in $(fmt "$(kv "$work/create" create_s)" 1) s ($(kv "$work/create" create_per_s)/s)${err:+; $err}"

# every pod is scheduled and started (timers, events) within 250 ms of its create: let the last
# ones settle before measuring
sleep 1
rss1=$(rss_kb "$kf_pid")
for _ in 1 2 3; do
  curl -s -o /dev/null -w '%{http_code} %{time_total} %{size_download}\n' "$kf_url/api/v1/pods"
done >"$work/full"
full_ms=$(awk '{print $2 * 1000}' "$work/full" | sort -g | sed -n 2p)
full_mb=$(awk 'NR == 1 { printf "%.1f", $3 / 1048576 }' "$work/full")
codes=$(awk '{print $1}' "$work/full" | sort -u | tr '\n' ' ')
row "store: full list GET /api/v1/pods, $made pods (median of 3)" \
  "$(fmt "$full_ms") ms ($full_mb MB; HTTP ${codes% })"
"${pin_client[@]}" python3 "$BENCH_HELPER" pages "$kf_port" 500 "${BENCH_PAGES_TIMEOUT:-60}" \
  >"$work/pages"
stopped=$(kv "$work/pages" stopped)
row "store: list in pages of 500 (limit/continue)" \
  "$(fmt "$(kv "$work/pages" total_ms)") ms for $(kv "$work/pages" pages) pages, $(kv "$work/pages" items) pods (page p50 $(fmt "$(kv "$work/pages" page_p50_ms)" 1) ms, p99 $(fmt "$(kv "$work/pages" page_p99_ms)" 1) ms${stopped:+; stopped $stopped})"
rss3=$(rss_kb "$kf_pid")
peak=$(awk '/^VmHWM:/ {print $2}' "/proc/$kf_pid/status")
row "store: kubefault RSS with $made pods" \
  "$(fmt "$((rss1 / 1024))") MB ($(awk -v a="$rss1" -v b="$rss0" -v n="$made" 'BEGIN { if (n) printf "%.1f", (a - b) / n }') kB per pod incl. its events; $(fmt "$((rss3 / 1024))") MB after the lists, peak $(fmt "$((peak / 1024))") MB)"
