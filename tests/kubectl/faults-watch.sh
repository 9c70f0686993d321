#!/usr/bin/env bash
# faults-watch.sh -- what kubectl prints for each watch fault type (watch-stall, watch-cut,
# watch-expire, watch-no-bookmarks, watch-duplicate, watch-list-refused): for each scenario under
# tests/scenarios/faults/watch-*.json, serve it, create pod p1 (`kubectl run`; the scenarios
# schedule it after 2 s and start it 1 s later, so a watch opened at once sees two MODIFIED
# events), then run kubectl 1.32 directly (fresh KUBECACHEDIR, every call bounded by `timeout`):
# `kubectl get pods -w` for cut, expire, duplicate and stall, `kubectl wait` (with
# KUBE_FEATURE_WatchListClient=true where the fault is about watch-list) for the informer side.
# Compared: exit code, stdout (blanks squeezed, AGE cells and resourceVersions replaced by
# placeholders), stderr (klog headers stripped, lines sorted, or an extended regex), and timing.
#
#   tests/kubectl/faults-watch.sh /path/to/kubefault
#
# Prints `ok|FAIL <check>` per check (a FAIL is followed by the command, its exit code, duration,
# stdout and stderr) and, last, `N passed, M failed`. Exit 0 when M is 0, 1 otherwise, 77 (skip)
# when kubectl is missing or `kubefault serve` takes no scenario file.
#
# Environment: KUBECTL (default /usr/lib/google-cloud-sdk/bin/kubectl.1.32), FAULTS_TRANSPORT
# (https, the default: TLS with the bearer token; or http), FAULTS_ONLY (a substring: run only the
# checks whose name contains it), FAULTS_KEEP=1 (keep the work directory and print its path).
set -u
. "$(dirname "$0")/lib.sh"

KTIMEOUT=40 # bound on every kubectl call, in seconds (the slowest check takes about 22 s)
faults_init faults "$@"
KENV=''

# kc ARGS...: run kubectl against the current server (with the environment KENV, "VAR=value ...");
# sets RC, OUT, ERR, MS. Every stdout line is also stamped, in $DIR/stamped, with the milliseconds
# since the call began.
kc() {
  local t0
  t0=$(now_ms)
  # shellcheck disable=SC2086
  env $KENV KUBECONFIG="$DIR/kubeconfig" KUBECACHEDIR="$DIR/cache.$RANDOM" timeout "$KTIMEOUT" \
    "$KUBECTL" "$@" 2>"$DIR/err" | while IFS= read -r line; do
    printf '%s %s\n' $(($(now_ms) - t0)) "$line"
  done >"$DIR/stamped"
  RC=${PIPESTATUS[0]}
  MS=$(($(now_ms) - t0))
  OUT=$(sed 's/^[0-9]* //' "$DIR/stamped")
  ERR=$(cat "$DIR/err")
}

# fail_details ARGS...: as lib.sh's, with KENV before the command, stdout with its stamps and only
# the server's rule and warning lines.
fail_details() {
  echo "    ${KENV:+$KENV }kubectl $*  (rc $RC, ${MS} ms)"
  [ -s "$DIR/stamped" ] && sed 's/^/    stdout: /' "$DIR/stamped"
  printf '%s\n' "$ERR" | sed 's/^/    stderr: /'
  [ -s "$DIR/server.log" ] && grep -E "rule |kubefault\[(warn|error)\]" "$DIR/server.log" |
    tail -n 5 | sed 's/^/    server: /'
}

# The stdout of `get -w` with blanks squeezed, AGE cells as <age> and the numbers of a watch
# cache's "too old resource version" as <rv> and <now>.
norm_out() {
  printf '%s\n' "$OUT" | sed -E 's/ +/ /g; s/ [0-9]+s$/ <age>/;
    s/too old resource version: [0-9]+ \([0-9]+\)/too old resource version: <rv> (<now>)/'
}

# stderr without klog's time and pid ("W1128 00:20:39.679723   24444 reflector.go:362] ..." ->
# "W reflector.go:362] ..."), lines sorted (client-go's goroutines race for the order).
norm_err() {
  printf '%s\n' "$ERR" | sed -E 's/^([IWEF])[0-9]{4} [0-9:.]+ +[0-9]+ /\1 /' | LC_ALL=C sort
}

# expect NAME RC STDOUT STDERR MIN_MS MAX_MS -- ARGS...: run kubectl ARGS; its exit code must be RC,
# its normalised stdout exactly STDOUT (or, when STDOUT starts with "~", match the extended regex
# after it), its stderr likewise against STDERR (normalised when compared exactly), and it must take
# MIN_MS..MAX_MS milliseconds.
expect() {
  local name=$1 rc=$2 want_out=$3 want_err=$4 min=$5 max=$6
  shift 7
  kc "$@"
  WHY=''
  rc_is "$rc" && text_is stdout "$OUT" "$want_out" "$(norm_out)" &&
    text_is stderr "$ERR" "$want_err" "$(norm_err)" && ms_within "$min" "$max"
  verdict "$name" "$@"
}

# check SCENARIO NAME RC STDOUT STDERR MIN_MS MAX_MS -- ARGS...: one server, `kubectl run p1`, then
# one checked kubectl call.
check() {
  local scenario=$1
  shift
  selected "$1" || return 0
  start "$scenario" "$1" || return 0
  local kenv=$KENV
  KENV=''
  kc run p1 --image=busybox
  KENV=$kenv
  if [ "$RC" != 0 ]; then
    report "$1" 0 "kubectl run p1 failed" run p1 --image=busybox
  else
    expect "$@"
  fi
  end
}

faults_probe watch-duplicate

FAST=5000 # ms: slack for a slow machine
HEAD='NAME READY STATUS RESTARTS AGE
p1 0/1 Pending 0 <age>'
CREATING='p1 0/1 ContainerCreating 0 <age>'
RUNNING='p1 1/1 Running 0 <age>'
WATCHLIST=KUBE_FEATURE_WatchListClient=true

# ---- watch-duplicate: every row twice ----
check watch-duplicate duplicate-get-w 0 "$HEAD
$CREATING
$CREATING
$RUNNING
$RUNNING" '' 6000 $((6000 + FAST)) -- get pods -w --request-timeout=6s

check watch-duplicate duplicate-wait 0 'pod/p1 condition met' '' 2500 $((3000 + FAST)) \
  -- wait --for=condition=Ready pod/p1 --timeout=15s

# ---- watch-stall ----
# for good after one event: the Running row never comes; kubectl's own 6 s timeout ends it
check watch-stall stall-get-w 0 "$HEAD
$CREATING" '' 6000 $((6000 + FAST)) -- get pods -w --request-timeout=6s
check watch-stall stall-wait 1 '' 'error: timed out waiting for the condition on pods/p1' 8000 \
  $((8000 + FAST)) -- wait --for=condition=Ready pod/p1 --timeout=8s
# for 3 s from the first event: both rows come together, about 3 s after the first change (2 s)
if selected stall-for-get-w; then
  check watch-stall-for stall-for-get-w 0 "$HEAD
$CREATING
$RUNNING" '' 8000 $((8000 + FAST)) -- get pods -w --request-timeout=8s
  if [ -s "$DIR/stamped" ]; then
    t_creating=$(awk '/ContainerCreating/ {print $1; exit}' "$DIR/stamped")
    t_running=$(awk '/Running/ {print $1; exit}' "$DIR/stamped")
    ok=0
    [ -n "$t_creating" ] && [ -n "$t_running" ] && [ "$t_creating" -ge 4500 ] &&
      [ $((t_running - t_creating)) -le 500 ] && ok=1
    report stall-for-rows-late-and-together "$ok" \
      "ContainerCreating at ${t_creating:-?} ms (expected >= 4500), Running at ${t_running:-?} ms (expected within 500 ms of it)" \
      get pods -w --request-timeout=8s
  fi
fi
# a watch-list that gets nothing: no events, no bookmark
KENV=$WATCHLIST
check watch-stall-all stall-all-watch-list-wait 1 '' \
  "~(^|
)W[0-9]{4} [0-9:.]+ +[0-9]+ reflector\.go:[0-9]+\] [^
]*: awaiting required bookmark event for initial events stream, no events received for 10\.[0-9]+s
error: timed out waiting for the condition on pods/p1$" \
  12000 $((12000 + FAST)) -- wait --for=condition=Ready pod/p1 --timeout=12s
KENV=''

# ---- watch-cut: inside the second event; kubectl ends quietly when the first change is shown ----
check watch-cut cut-reset-get-w 0 "$HEAD
$CREATING" '' 2500 $((3000 + FAST)) -- get pods -w --request-timeout=8s
check watch-cut cut-reset-get-w-v5 0 "~ContainerCreating" \
  "~(^|
)I[0-9]{4} [0-9:.]+ +[0-9]+ streamwatcher\.go:[0-9]+\] Unable to decode an event from the watch stream: read tcp 127\.0\.0\.1:[0-9]+->127\.0\.0\.1:[0-9]+: read: connection reset by peer(
|$)" 2500 $((3000 + FAST)) -- get pods -w --request-timeout=8s -v=5
check watch-cut-close cut-close-get-w 0 "$HEAD
$CREATING" '' 2500 $((3000 + FAST)) -- get pods -w --request-timeout=8s
check watch-cut-close cut-close-get-w-v1 0 "~ContainerCreating" \
  "~(^|
)I[0-9]{4} [0-9:.]+ +[0-9]+ streamwatcher\.go:[0-9]+\] Unexpected EOF during watch stream event decoding: unexpected EOF(
|$)" 2500 $((3000 + FAST)) -- get pods -w --request-timeout=8s -v=1

# an informer re-watches at once from the last resourceVersion it got, and sees p1 Ready
check watch-cut cut-wait-v4 0 'pod/p1 condition met' \
  "~(^|
)I[0-9]{4} [0-9:.]+ +[0-9]+ reflector\.go:[0-9]+\] [^
]*: Watch close - \*unstructured\.Unstructured total 1 items received(
|$)" 2500 $((3000 + FAST)) -- wait --for=condition=Ready pod/p1 --timeout=15s -v=4

# ---- watch-expire: the ERROR event as a table, then the end; an informer re-lists ----
check watch-expire expire-get-w 0 "$HEAD
$CREATING
STATUS REASON MESSAGE
Failure Expired too old resource version: <rv> (<now>)" '' 2500 $((3000 + FAST)) \
  -- get pods -w --request-timeout=8s
check watch-expire expire-wait 0 'pod/p1 condition met' '' 2500 $((3000 + FAST)) \
  -- wait --for=condition=Ready pod/p1 --timeout=15s
check watch-expire expire-wait-v4 0 'pod/p1 condition met' \
  "~(^|
)I[0-9]{4} [0-9:.]+ +[0-9]+ reflector\.go:[0-9]+\] [^
]*: watch of \*unstructured\.Unstructured closed with: too old resource version: [0-9]+ \([0-9]+\)(
|$)" 2500 $((3000 + FAST)) -- wait --for=condition=Ready pod/p1 --timeout=15s -v=4

# ---- watch-no-bookmarks: a watch-list never ends its initial events; plain watches don't care ----
KENV=$WATCHLIST
check watch-no-bookmarks no-bookmarks-watch-list-wait 1 '' \
  "~(^|
)W[0-9]{4} [0-9:.]+ +[0-9]+ reflector\.go:[0-9]+\] [^
]*: hasn't received required bookmark event marking the end of initial events stream, received last event 1[0-9]\.[0-9]+s ago
error: timed out waiting for the condition on pods/p1$" \
  22000 $((22000 + FAST)) -- wait --for=condition=Ready pod/p1 --timeout=22s
KENV=''
check watch-no-bookmarks no-bookmarks-plain-wait 0 'pod/p1 condition met' '' 2500 $((3000 + FAST)) \
  -- wait --for=condition=Ready pod/p1 --timeout=15s

# ---- watch-list-refused: client-go falls back to LIST + WATCH, with two warnings (this scenario
# keeps the default pod timings: p1 is Ready within 250 ms) ----
MSG='ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled'
KENV=$WATCHLIST
check watch-list-refused watch-list-refused-wait 0 'pod/p1 condition met' \
  "W reflector.go:362] The watchlist request ended with an error, falling back to the standard LIST/WATCH semantics because making progress is better than deadlocking, err = $MSG
W simple.go:262] The watchlist request for /v1, Resource=pods ended with an error, falling back to the standard LIST semantics, err = $MSG" \
  0 $FAST -- wait --for=condition=Ready pod/p1 --timeout=15s
KENV=''
check watch-list-refused watch-list-refused-plain-wait 0 'pod/p1 condition met' '' 0 $FAST \
  -- wait --for=condition=Ready pod/p1 --timeout=15s

faults_summary
