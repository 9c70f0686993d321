#!/usr/bin/env bash
# http.sh -- bench section 1: GET of one pod over keep-alive, kubefault against nginx (one worker)
# serving the very same bytes as a static file, with wrk at concurrency 1, 16 and 64. Rows: req/s,
# p50 and p99 of each, the CPU time each server ran per request (what the ratio comes to when
# other processes share the server's CPU and the req/s of both drop), the throughput ratio (target
# >= 0.8x nginx) and the added p50 latency at concurrency 1 (target <= 50 us). BENCH_DURATION:
# seconds per wrk run (default 5).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/bench/lib.sh
. scripts/bench/lib.sh

duration=${BENCH_DURATION:-5}
work=$BENCH_WORK/http
mkdir -p "$work"
ngx_pid=
trap 'kf_stop; [ -n "$ngx_pid" ] && kill "$ngx_pid" 2>/dev/null; wait 2>/dev/null || true' EXIT

pod_path=/api/v1/namespaces/default/pods/bench

# kubefault with the pod `bench`, created over plain HTTP like any client would
kf_start "$work/kf"
code=$(curl -s -o "$work/create.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  --data '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bench"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}' \
  "$kf_url/api/v1/namespaces/default/pods")
[ "$code" = 201 ] || { echo "bench http: creating the pod answered $code" >&2; exit 1; }
# the pod is Running and Ready after --schedule-delay + --start-delay (250 ms by default); then
# its bytes no longer change: wait (bounded) until two GETs agree and it is Running
for _ in $(seq 1 50); do
  sleep 0.1
  curl -s -o "$work/a.json" "$kf_url$pod_path"
  curl -s -o "$work/b.json" "$kf_url$pod_path"
  cmp -s "$work/a.json" "$work/b.json" && grep -q '"phase":"Running"' "$work/a.json" && break
done

# nginx: one worker, keep-alive, the same bytes at the same path as application/json
www=$work/www
mkdir -p "$www${pod_path%/*}" "$work/ngx"
cp "$work/a.json" "$www$pod_path"
chmod -R a+rX "$BENCH_WORK" # the worker runs as nobody when nginx starts as root
ngx_port=$(python3 "$BENCH_HELPER" freeport)
cat >"$work/ngx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/ngx/nginx.pid;
error_log $work/ngx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  server_tokens off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 100000000;
  open_file_cache max=64 inactive=60s;
  etag off;
  types { }
  default_type application/json;
  server {
    listen 127.0.0.1:$ngx_port;
    root $www;
  }
}
EOF
"${pin_server[@]}" nginx -p "$work/ngx" -e "$work/ngx/error.log" -c "$work/ngx/nginx.conf" \
  >"$work/ngx/out" 2>&1 &
ngx_pid=$!
ngx_url=http://127.0.0.1:$ngx_port
for _ in $(seq 1 100); do
  curl -s -o "$work/n.json" "$ngx_url$pod_path" 2>/dev/null && break
  kill -0 "$ngx_pid" 2>/dev/null || break
  sleep 0.05
done
if ! cmp -s "$work/n.json" "$work/a.json"; then
  echo "bench http: nginx does not serve the pod's bytes:" >&2
  cat "$work/ngx/out" "$work/ngx/error.log" >&2 2>/dev/null || true
  exit 1
fi
bytes=$(wc -c <"$work/a.json")
# nginx answers from its worker (the master's child)
ngx_worker=$(pgrep -P "$ngx_pid" | head -n 1)

# wrk_run URL THREADS CONNS SECONDS -> "req/s p50_us p99_us errors"
wrk_run() {
  "${pin_client[@]}" wrk -t"$2" -c"$3" -d"$4"s --latency "$1$pod_path" |
    awk 'function us(x) { if (x ~ /us$/) return x + 0; if (x ~ /ms$/) return x * 1000
                           if (x ~ /s$/) return x * 1000000; return x + 0 }
         $1 == "50%" { p50 = us($2) }  $1 == "99%" { p99 = us($2) }
         /^Requests\/sec:/ { rps = $2 }
         /Non-2xx/ { err += $NF }
         /Socket errors:/ { gsub(/[^0-9 ]/, " "); for (i = 1; i <= NF; i++) err += $i }
         END { printf "%.0f %.1f %.1f %d\n", rps, p50, p99, err }'
}

# cpu_us PID -> the CPU time PID has run, in microseconds (/proc/PID/schedstat), or 0
cpu_us() { awk '{ printf "%.0f", $1 / 1000 }' "/proc/$1/schedstat" 2>/dev/null || echo 0; }

# measure PID URL THREADS CONNS SECONDS -> "req/s p50_us p99_us errors cpu_us_per_request"
measure() {
  local c0 c1 rps p50 p99 err
  c0=$(cpu_us "$1")
  read -r rps p50 p99 err < <(wrk_run "$2" "$3" "$4" "$5")
  c1=$(cpu_us "$1")
  printf '%s %s %s %s %s\n' "$rps" "$p50" "$p99" "$err" \
    "$(awk -v a="$c0" -v b="$c1" -v r="$rps" -v d="$5" 'BEGIN {
      if (r > 0 && b > a) printf "%.1f", (b - a) / (r * d); else print "?" }')"
}

# describe "req/s p50 p99 err cpu" -> the measured cell
describe() {
  local extra=
  [ "$4" != 0 ] && extra=", $4 errors"
  printf '%s req/s, p50 %s us, p99 %s us, %s us CPU/req%s' "$1" "$(fmt "$2")" "$(fmt "$3")" "$5" \
    "$extra"
}

p50_ngx_c1=''
p50_kf_c1=''
for c in 1 16 64; do
  t=1
  [ "$c" -gt 1 ] && t=2
  # a warm-up each (connections, caches, page faults), then the measured runs back to back
  wrk_run "$ngx_url" "$t" "$c" 1 >/dev/null
  wrk_run "$kf_url" "$t" "$c" 1 >/dev/null
  read -r n_rps n_p50 n_p99 n_err n_cpu < <(measure "$ngx_worker" "$ngx_url" "$t" "$c" "$duration")
  read -r k_rps k_p50 k_p99 k_err k_cpu < <(measure "$kf_pid" "$kf_url" "$t" "$c" "$duration")
  row "GET pod c=$c (wrk -t$t, ${duration}s): nginx 1 worker" \
    "$(describe "$n_rps" "$n_p50" "$n_p99" "$n_err" "$n_cpu")"
  row "GET pod c=$c (wrk -t$t, ${duration}s): kubefault" \
    "$(describe "$k_rps" "$k_p50" "$k_p99" "$k_err" "$k_cpu")"
  ratio=$(awk -v k="$k_rps" -v n="$n_rps" 'BEGIN { if (n > 0) printf "%.2f", k / n; else print "?" }')
  cpu_ratio=$(awk -v k="$k_cpu" -v n="$n_cpu" 'BEGIN {
    if (k + 0 > 0 && n + 0 > 0) printf "%.2f", n / k; else print "?" }')
  row "GET pod c=$c: throughput kubefault/nginx" "${ratio}x (by CPU per request: ${cpu_ratio}x)" \
    ">= 0.8x" "$(verdict "$ratio" ge 0.8)"
  if [ "$c" = 1 ]; then
    p50_ngx_c1=$n_p50
    p50_kf_c1=$k_p50
  fi
done
added=$(awk -v k="$p50_kf_c1" -v n="$p50_ngx_c1" 'BEGIN { printf "%.1f", k - n }')
row "added latency, no fault (p50 kubefault - nginx, c=1)" "$added us ($bytes-byte body)" "<= 50 us" \
  "$(verdict "$added" le 50)"
