#!/usr/bin/env bash
# watch.sh -- bench section 3: N watchers on one resource (configmaps in `default`, from the
# current resourceVersion), then one change (a ConfigMap created): time from the change to the
# last watcher's event (and the CPU time client and server spent meanwhile: on a busy machine the
# wall time also counts other processes' turns), and kubefault's resident memory with the watchers
# open. A fresh server per N. Targets for 10k: <= 100 ms fan-out, <= 200 MB RSS. BENCH_WATCHERS:
# the Ns (default "1000 10000"). The client is tests/bench/watchfan.c (epoll, one process),
# compiled here. For each N also the floor: tests/bench/fanfloor.c, one process writing one
# 400-byte message (about a ConfigMap ADDED event) to each of N loopback sockets, nothing else,
# while a reader waits in epoll as watchfan does: what the kernel alone takes for the fan-out.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/bench/lib.sh
. scripts/bench/lib.sh

work=$BENCH_WORK/watch
mkdir -p "$work"
trap 'kf_stop' EXIT

cc -O2 -std=c11 -Wall -Wextra -o "$work/watchfan" tests/bench/watchfan.c
cc -O2 -std=c11 -Wall -Wextra -o "$work/fanfloor" tests/bench/fanfloor.c

# each watcher is a descriptor in the server and one in the client: use the hard limit (a process
# cannot go beyond it without CAP_SYS_RESOURCE), and say what limits N when something does
ulimit -n "$(ulimit -Hn)"
read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
ports=$((hi - lo + 1))

for n in ${BENCH_WATCHERS:-1000 10000}; do
  limit=
  if [ "$(ulimit -n)" != unlimited ] && [ "$n" -gt $(($(ulimit -n) - 64)) ]; then
    limit="open-files limit $(ulimit -n) (hard; raising it needs CAP_SYS_RESOURCE)"
  elif [ "$n" -gt $((ports - 1000)) ]; then
    limit="local port range $lo-$hi"
  fi
  kf_start "$work/kf$n"
  rv=$(curl -s "$kf_url/api/v1/namespaces/default/configmaps" |
    sed -n 's/.*"metadata":{"resourceVersion":"\([0-9]*\)".*/\1/p')
  "${pin_client[@]}" "$work/watchfan" "$kf_port" "$n" \
    "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=$rv" \
    /api/v1/namespaces/default/configmaps \
    '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fanout-probe"},"data":{"k":"v"}}' \
    '"fanout-probe"' "$kf_pid" >"$work/out$n" 2>&1 || true
  kf_stop
  got=$(kv "$work/out$n" watchers)
  err=$(kv "$work/out$n" error)
  [ -n "$limit" ] && err="${err:+$err; }$limit"
  tag="watch fan-out, $n watchers"
  [ "${got:-0}" != "$n" ] && tag="$tag (reached ${got:-0})"
  last=$(kv "$work/out$n" fanout_last_ms)
  if [ -z "$last" ]; then
    row "$tag" "not measured: ${err:-$(tail -n 3 "$work/out$n" | tr '\n' ' ')}"
    continue
  fi
  ftarget=- rtarget=- fverdict=- rverdict=-
  if [ "$n" -ge 10000 ]; then
    ftarget="<= 100 ms" rtarget="<= 200 MB"
  fi
  [ "$ftarget" != - ] && fverdict=$(verdict "$last" le 100)
  row "$tag: change -> last watcher's event" \
    "$(fmt "$last" 1) ms (first $(fmt "$(kv "$work/out$n" fanout_first_ms)" 2), p50 $(fmt "$(kv "$work/out$n" fanout_p50_ms)" 1); events $(kv "$work/out$n" events); client CPU $(kv "$work/out$n" client_cpu_ms) ms, server CPU $(kv "$work/out$n" server_cpu_ms) ms${err:+; $err})" \
    "$ftarget" "$fverdict"
  "${pin_client[@]}" "$work/fanfloor" "$n" 400 >"$work/floor$n" 2>&1 || true
  fl=$(kv "$work/floor$n" last_read_ms)
  if [ -n "$fl" ]; then
    fl="$(fmt "$fl" 1) ms to the last reader (the write loop $(fmt "$(kv "$work/floor$n" write_loop_ms)" 1) ms)"
  else
    fl="not measured: $(kv "$work/floor$n" error)"
  fi
  row "$tag: floor, $n plain writes (fanfloor)" "$fl" - -
  r0=$(kv "$work/out$n" rss_before_kb)
  r1=$(kv "$work/out$n" rss_watching_kb)
  r2=$(kv "$work/out$n" rss_after_kb)
  rmax=$((r1 > r2 ? r1 : r2))
  mb=$(awk -v k="$rmax" 'BEGIN { printf "%.1f", k / 1024 }')
  per=$(awk -v a="$r1" -v b="$r0" -v n="$got" 'BEGIN { printf "%.1f", (a - b) / n }')
  [ "$rtarget" != - ] && rverdict=$(verdict "$mb" le 200)
  row "$tag: kubefault RSS (VmRSS)" \
    "$mb MB ($(fmt "$per" 1) kB per watcher; $(fmt "$((r0 / 1024))") MB idle)" "$rtarget" "$rverdict"
done
