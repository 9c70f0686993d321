#!/usr/bin/env bash
# faults-http.sh -- what kubectl prints for each HTTP answer fault type (status, error, delay, hang,
# empty-reply, malformed-body, wrong-content-type): for every scenario under
# tests/scenarios/faults/http-*.json, serve it, run kubectl 1.32 directly (fresh KUBECACHEDIR,
# every call bounded by `timeout`), and compare its exit code and stderr with the fault type's
# documented client_sees text, and its duration with the wait the fault implies.
#
#   tests/kubectl/faults-http.sh /path/to/kubefault
#
# Prints `ok|FAIL <check>` per check (a FAIL is followed by the command, its exit code, duration,
# stdout and stderr; a server that does not exit 0 on SIGTERM, e.g. with a sanitizer report, is a
# FAIL too) and, last, `N passed, M failed`. Exit 0 when M is 0, 1 otherwise, 77 (skip)
# when kubectl is missing or `kubefault serve` takes no scenario file.
#
# Environment: KUBECTL (default /usr/lib/google-cloud-sdk/bin/kubectl.1.32), FAULTS_TRANSPORT
# (https, the default: TLS with the bearer token; or http), FAULTS_ONLY (a substring: run only the
# checks whose name contains it), FAULTS_KEEP=1 (keep the work directory and print its path).
set -u

KUBECTL=${KUBECTL:-/usr/lib/google-cloud-sdk/bin/kubectl.1.32}
TRANSPORT=${FAULTS_TRANSPORT:-https}
HERE=$(cd "$(dirname "$0")" && pwd)
SCENARIOS=$(cd "$HERE/../scenarios/faults" && pwd)
KTIMEOUT=40 # bound on every kubectl call, in seconds (the slowest check takes about 11 s)

usage() { echo "usage: $0 /path/to/kubefault" >&2; exit 2; }
[ $# -eq 1 ] || usage
KUBEFAULT=$1
[ -x "$KUBEFAULT" ] || { echo "$0: $KUBEFAULT is not an executable" >&2; exit 2; }
if [ ! -x "$KUBECTL" ]; then
  echo "SKIP: no kubectl at $KUBECTL"
  exit 77
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kubefault-faults-http.XXXXXX")
SERVER_PID=
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  if [ "${FAULTS_KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---------------------------------------------------------------------------------------------------
# The server. begin SCENARIO: start kubefault on it (sets DIR, SERVER_PID); 0 when it is up.
DIR=
begin() {
  local name=$1 args
  DIR=$WORK/$name.$RANDOM
  mkdir -p "$DIR/cache"
  args=(serve --port 0 --kubeconfig "$DIR/kubeconfig" --verbose)
  [ "$TRANSPORT" = http ] && args+=(--plain-http)
  args+=("$SCENARIOS/$name.json")
  "$KUBEFAULT" "${args[@]}" >"$DIR/server.out" 2>"$DIR/server.log" &
  SERVER_PID=$!
  local i
  for i in $(seq 100); do # at most 10 s
    if grep -q " listening on " "$DIR/server.out" 2>/dev/null &&
      grep -q "^kubeconfig: " "$DIR/server.out"; then
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  wait "$SERVER_PID" 2>/dev/null
  SERVER_RC=$?
  SERVER_PID=
  return 1
}

# end: SIGTERM the server; 0 when it exited 0 (a clean shutdown, no sanitizer report).
end() {
  [ -n "$SERVER_PID" ] || return 0
  local rc=0
  kill "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null || rc=$?
  SERVER_PID=
  return "$rc"
}

# end_checked NAME: end, and count a failure when the server did not exit cleanly.
end_checked() {
  end && return 0
  local rc=$?
  FAILED=$((FAILED + 1))
  echo "FAIL $1 (server shutdown): kubefault exited with $rc after SIGTERM"
  grep -m 3 -E "ERROR: AddressSanitizer|runtime error|SUMMARY" "$DIR/server.log" | sed 's/^/    server: /'
}

# ---------------------------------------------------------------------------------------------------
# Checks.
PASSED=0 FAILED=0
OUT='' ERR='' RC='' MS=''

# kc ARGS...: run kubectl against the current server; sets RC, OUT, ERR, MS.
kc() {
  local t0
  t0=$(now_ms)
  KUBECONFIG=$DIR/kubeconfig KUBECACHEDIR=$DIR/cache timeout "$KTIMEOUT" "$KUBECTL" "$@" \
    >"$DIR/out" 2>"$DIR/err"
  RC=$?
  MS=$(($(now_ms) - t0))
  OUT=$(cat "$DIR/out")
  ERR=$(cat "$DIR/err")
}

report() { # report NAME OK WHY ARGS...
  local name=$1 ok=$2 why=$3
  shift 3
  if [ "$ok" = 1 ]; then
    PASSED=$((PASSED + 1))
    echo "ok $name"
    return
  fi
  FAILED=$((FAILED + 1))
  echo "FAIL $name: $why"
  echo "    kubectl $*  (rc $RC, ${MS} ms)"
  [ -n "$OUT" ] && printf '%s\n' "$OUT" | sed 's/^/    stdout: /'
  printf '%s\n' "$ERR" | sed 's/^/    stderr: /'
  [ -s "$DIR/server.log" ] && tail -n 5 "$DIR/server.log" | sed 's/^/    server: /'
}

# expect NAME RC STDERR MIN_MS MAX_MS -- ARGS...: run kubectl ARGS; its exit code must be RC, its
# stderr exactly STDERR (or, when STDERR starts with "~", match the extended regex after it), and
# it must take MIN_MS..MAX_MS milliseconds.
expect() {
  local name=$1 rc=$2 want=$3 min=$4 max=$5
  shift 6
  kc "$@"
  local ok=1 why=''
  if [ "$RC" != "$rc" ]; then
    ok=0 why="exit code $RC, expected $rc"
  elif [ "${want:0:1}" = "~" ]; then
    [[ $ERR =~ ${want:1} ]] || { ok=0 why="stderr does not match /${want:1}/"; }
  elif [ "$ERR" != "$want" ]; then
    ok=0 why="stderr is not: $want"
  fi
  if [ "$ok" = 1 ] && { [ "$MS" -lt "$min" ] || [ "$MS" -gt "$max" ]; }; then
    ok=0 why="took $MS ms, expected $min..$max"
  fi
  report "$name" "$ok" "$why" "$@"
}

# check SCENARIO NAME RC STDERR MIN_MS MAX_MS -- ARGS...: one server for one kubectl call.
check() {
  local scenario=$1
  shift
  [ -z "${FAULTS_ONLY:-}" ] || [[ $1 == *"$FAULTS_ONLY"* ]] || return 0
  if ! begin "$scenario"; then
    RC=$SERVER_RC MS=0 OUT='' ERR=$(cat "$DIR/server.log")
    report "$1" 0 "kubefault serve did not start"
    return
  fi
  expect "$@"
  end_checked "$1"
}

# Before anything: does this kubefault serve scenarios?
if ! begin http-status; then
  if [ "${SERVER_RC:-0}" = 2 ]; then
    echo "SKIP: \`kubefault serve SCENARIO\` is not supported by $KUBEFAULT yet:"
    sed 's/^/    /' "$DIR/server.log"
    exit 77
  fi
  echo "FAIL: kubefault serve did not start:"
  sed 's/^/    /' "$DIR/server.log"
  echo "0 passed, 1 failed"
  exit 1
fi
end

FAST=5000 # ms: an answer that should come at once, with room for a slow machine
TIMEOUT_RE='^Unable to connect to the server: (context deadline exceeded|net/http: request canceled)( \(Client\.Timeout exceeded while awaiting headers\))?$'

# ---- status ----
check http-status status 1 'Error from server (InternalError): etcdserver: leader changed' 0 $FAST \
  -- get pod p1
check http-status-raw status-raw-body 1 \
  'Error from server (InternalError): an error on the server ("boom") has prevented the request from succeeding (get pods p1)' \
  0 $FAST -- get pod p1
# Retry-After: client-go retries; the third GET is answered normally (1 s apart)
check http-status-retry-after status-retry-after 1 'Error from server (NotFound): pods "p1" not found' \
  2000 $((2000 + FAST)) -- get pod p1

# ---- error ----
check http-error-etcd-leader-changed error-etcd-leader-changed 1 \
  'Error from server: etcdserver: leader changed' 0 $FAST -- get pod p1
check http-error-etcd-request-timed-out error-etcd-request-timed-out 1 \
  'Error from server: etcdserver: request timed out' 0 $FAST -- get pod p1
check http-error-etcd-request-timed-out-leader-failure error-etcd-request-timed-out-leader-failure 1 \
  'Error from server: etcdserver: request timed out, possibly due to previous leader failure' \
  0 $FAST -- get pod p1
check http-error-context-deadline-exceeded error-context-deadline-exceeded 1 \
  'Error from server: context deadline exceeded' 0 $FAST -- get pod p1
check http-error-quota-evaluation-timeout error-quota-evaluation-timeout 1 \
  'Error from server (InternalError): Internal error occurred: resource quota evaluates timeout' \
  1000 $((1000 + FAST)) -- run web --image=busybox
check http-error-quota-exceeded error-quota-exceeded 1 \
  'Error from server (Forbidden): pods "web" is forbidden: exceeded quota: compute-resources, requested: pods=1, used: pods=10, limited: pods=10' \
  0 $FAST -- run web --image=busybox
check http-error-webhook-timeout error-webhook-timeout 1 \
  'Error from server (Timeout): Timeout: request did not complete within requested timeout' \
  2000 $((2000 + FAST)) -- run web --image=busybox
check http-error-webhook-failed error-webhook-failed 1 \
  'Error from server (InternalError): Internal error occurred: failed calling webhook "example.webhook.service": failed to call webhook: Post "https://example-webhook.default.svc:443/mutate?timeout=1s": context deadline exceeded' \
  1000 $((1000 + FAST)) -- run web --image=busybox
check http-error-webhook-denied error-webhook-denied 1 \
  'Error from server (Forbidden): admission webhook "validation.gatekeeper.sh" denied the request: [psp-readonlyrootfilesystem] only read-only root filesystem container is allowed: build' \
  0 $FAST -- run web --image=busybox
check http-error-webhook-denied error-webhook-denied-create-f 1 \
  "Error from server (Forbidden): error when creating \"$HERE/pod.yaml\": admission webhook \"validation.gatekeeper.sh\" denied the request: [psp-readonlyrootfilesystem] only read-only root filesystem container is allowed: build" \
  0 $FAST -- create -f "$HERE/pod.yaml" --validate=false
# 429 + Retry-After: 1 on every try: 11 requests, about 10 s, then client-go's text for a
# non-Status 429 body
check http-error-too-many-requests error-too-many-requests 1 \
  'Error from server (TooManyRequests): the server has received too many requests and has asked us to try again later (get pods p1)' \
  10000 $((10000 + FAST)) -- get pod p1
check http-error-too-many-requests-status error-too-many-requests-status 1 \
  'Error from server (TooManyRequests): Too many requests, please try again later.' \
  10000 $((10000 + FAST)) -- get pod p1
check http-error-too-many-requests-first-2 error-too-many-requests-first-2 0 \
  'No resources found in default namespace.' 2000 $((2000 + FAST)) -- get pods

# ---- delay, hang ----
check http-delay delay 1 'Error from server (NotFound): pods "p1" not found' 3000 $((3000 + FAST)) \
  -- get pod p1
check http-delay delay-past-request-timeout 1 "~$TIMEOUT_RE" 1000 $((1000 + FAST)) \
  -- get pod p1 --request-timeout=1s
check http-hang hang-request-timeout 1 "~$TIMEOUT_RE" 2000 $((2000 + FAST)) \
  -- get pod p1 --request-timeout=2s

# ---- empty reply, malformed body, wrong content type ----
# a GET is retried 10 times, 1 s apart; a POST is not retried
check http-empty-reply empty-reply-get 1 'Unable to connect to the server: EOF' \
  10000 $((10000 + FAST)) -- get pod p1
check http-empty-reply empty-reply-post 1 'Unable to connect to the server: EOF' 0 $FAST \
  -- run web --image=busybox
check http-malformed-body malformed-body 1 \
  "error: invalid character 'n' looking for beginning of object key string" 0 $FAST -- get pod p1
if [ -z "${FAULTS_ONLY:-}" ] || [[ wrong-content-type == *"$FAULTS_ONLY"* ]]; then
  if begin http-wrong-content-type; then
    kc run p1 --image=busybox # a create: not matched, served normally
    if [ "$RC" = 0 ]; then
      expect wrong-content-type 1 "error: serializer for text/html doesn't exist" 0 $FAST \
        -- get pod p1
    else
      report wrong-content-type 0 "kubectl run p1 failed" run p1 --image=busybox
    fi
    end_checked wrong-content-type
  else
    RC=$SERVER_RC MS=0 OUT='' ERR=$(cat "$DIR/server.log")
    report wrong-content-type 0 "kubefault serve did not start"
  fi
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
