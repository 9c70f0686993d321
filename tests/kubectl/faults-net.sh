#!/usr/bin/env bash
# faults-net.sh -- what kubectl prints for each byte-level and listener fault type (reset, close,
# drip, refuse, blackhole, accept-hang, accept-reset, tls-stall): serve a scenario from
# tests/scenarios/faults/net-*.json, run kubectl 1.32 directly (fresh KUBECACHEDIR, every call
# bounded by `timeout`), and compare its exit code and stderr with the fault type's documented
# client_sees text, and its duration with the wait the fault implies.
#
# Listener faults are switched on by the scenario's timeline once the client's discovery cache is
# warm: `kubectl get pod warm` fires a marker rule whose firing enables the listener rule.
#
#   tests/kubectl/faults-net.sh /path/to/kubefault
#
# Prints `ok|FAIL <check>` per check (a FAIL is followed by the command, its exit code, duration,
# stdout and stderr) and, last, `N passed, M failed`. Exit 0 when M is 0, 1 otherwise, 77 (skip)
# when kubectl is missing or `kubefault serve` takes no scenario file.
#
# Environment: KUBECTL (default /usr/lib/google-cloud-sdk/bin/kubectl.1.32), FAULTS_TRANSPORT
# (https, the default: TLS with the bearer token; or http), FAULTS_ONLY (a substring: run only the
# checks whose name contains it), FAULTS_SLOW=1 (also the black hole without --request-timeout,
# which takes kubectl's 30 s dial timeout), FAULTS_KEEP=1 (keep the work directory, print its path).
set -u

KUBECTL=${KUBECTL:-/usr/lib/google-cloud-sdk/bin/kubectl.1.32}
TRANSPORT=${FAULTS_TRANSPORT:-https}
HERE=$(cd "$(dirname "$0")" && pwd)
SCENARIOS=$(cd "$HERE/../scenarios/faults" && pwd)
KTIMEOUT=45 # bound on every kubectl call, in seconds (the slowest check takes about 31 s)

usage() { echo "usage: $0 /path/to/kubefault" >&2; exit 2; }
[ $# -eq 1 ] || usage
KUBEFAULT=$1
[ -x "$KUBEFAULT" ] || { echo "$0: $KUBEFAULT is not an executable" >&2; exit 2; }
if [ ! -x "$KUBECTL" ]; then
  echo "SKIP: no kubectl at $KUBECTL"
  exit 77
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kubefault-faults-net.XXXXXX")
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
# The server. begin SCENARIO: start kubefault on it (sets DIR, SERVER_PID, PORT, SCHEME); 0 when it
# is up.
DIR= PORT= SCHEME=
begin() {
  local name=$1 args
  DIR=$WORK/$name.$RANDOM
  mkdir -p "$DIR/cache"
  args=(serve --port 0 --kubeconfig "$DIR/kubeconfig" --verbose)
  [ "$TRANSPORT" = http ] && args+=(--plain-http)
  args+=("$SCENARIOS/$name.json")
  "$KUBEFAULT" "${args[@]}" >"$DIR/server.out" 2>"$DIR/server.log" &
  SERVER_PID=$!
  local i url
  for i in $(seq 100); do # at most 10 s
    if grep -q " listening on " "$DIR/server.out" 2>/dev/null &&
      grep -q "^kubeconfig: " "$DIR/server.out"; then
      url=$(sed -n 's/.* listening on \(https*\):\/\/127\.0\.0\.1:\([0-9]*\).*/\1 \2/p' \
        "$DIR/server.out")
      SCHEME=${url% *} PORT=${url#* }
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

end() {
  [ -n "$SERVER_PID" ] || return 0
  kill "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=
}

# wait_port STATE: poll (every 0.1 s, at most 10 s) until connecting to the server's port is
# refused (STATE "refused") or accepted ("open"); 0 when it got there.
wait_port() {
  local want=$1 i
  for i in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
      [ "$want" = open ] && return 0
    else
      [ "$want" = refused ] && return 0
    fi
    sleep 0.1
  done
  return 1
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
# it must take MIN_MS..MAX_MS milliseconds. In STDERR, @PORT@ stands for the server's port and
# @URL@ for its URL.
expect() {
  local name=$1 rc=$2 want=$3 min=$4 max=$5
  shift 6
  want=${want//@PORT@/$PORT}
  want=${want//@URL@/$SCHEME:\/\/127.0.0.1:$PORT}
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

selected() { [ -z "${FAULTS_ONLY:-}" ] || [[ $1 == *"$FAULTS_ONLY"* ]]; }

# start SCENARIO NAME: begin, or report NAME as failed; 0 when the server is up.
start() {
  if begin "$1"; then
    return 0
  fi
  RC=$SERVER_RC MS=0 OUT='' ERR=$(cat "$DIR/server.log")
  report "$2" 0 "kubefault serve did not start"
  return 1
}

# check SCENARIO NAME RC STDERR MIN_MS MAX_MS -- ARGS...: one server for one kubectl call.
check() {
  local scenario=$1
  shift
  selected "$1" || return 0
  start "$scenario" "$1" || return 0
  expect "$@"
  end
}

# warm NAME: the first call on a listener scenario: fills the discovery cache and fires the marker
# rule that switches the listener fault on. 0 when it went as expected.
warm() {
  expect "$1-warm" 1 'Error from server (NotFound): pods "warm" not found' 0 $FAST -- get pod warm
  [ "$RC" = 1 ]
}

# Before anything: does this kubefault serve scenarios?
if ! begin net-reset-before-response; then
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
RETRIED=10000 # ms: client-go retries a GET 10 times, 1 s apart, after a connection-level failure
L='127\.0\.0\.1:[0-9]+' # the client's end of a connection
A='127\.0\.0\.1:@PORT@' # the server's
RESET="read tcp $L->$A: read: connection reset by peer"
KLOG='E[0-9]{4} [0-9:.]+ +[0-9]+ request\.go:[0-9]+\] '
TIMEOUT_RE='^Unable to connect to the server: (context deadline exceeded|net/http: request canceled)( \(Client\.Timeout exceeded while awaiting headers\))?$'

# ---- reset ----
# before any answer byte: a GET is retried 10 times, a POST is not
check net-reset-before-response reset-before-response-get 1 \
  "~^error: Get \"@URL@/api/v1/namespaces/default/pods/p1\": $RESET - error from a previous attempt: $RESET\$" \
  $RETRIED $((RETRIED + FAST)) -- get pod p1
check net-reset-before-response reset-before-response-post 1 \
  "~^Unable to connect to the server: $RESET\$" 0 $FAST -- run web --image=busybox
# after the headers, or mid-body: not retried; klog's line, then kubectl's
check net-reset-after-headers reset-after-headers 1 \
  "~^${KLOG}Unexpected error when reading response body: $RESET
error: unexpected error when reading response body\. Please retry\. Original error: $RESET\$" \
  0 $FAST -- get pod p1
check net-reset-mid-body reset-mid-body 1 \
  "~^${KLOG}Unexpected error when reading response body: $RESET
unexpected error when reading response body\. Please retry\. Original error: $RESET\$" \
  0 $FAST -- get pods

# ---- close ----
check net-close-empty close-empty-get 1 'Unable to connect to the server: EOF' \
  $RETRIED $((RETRIED + FAST)) -- get pod p1
check net-close-empty close-empty-post 1 'Unable to connect to the server: EOF' 0 $FAST \
  -- run web --image=busybox
check net-close-mid-body close-mid-body 1 \
  "~^${KLOG}Unexpected error when reading response body: unexpected EOF
unexpected error when reading response body\. Please retry\. Original error: unexpected EOF\$" \
  0 $FAST -- get pods

# ---- drip ----
# the 404 answer (about 290 bytes with its head) leaves 20 bytes every 100 ms: 1.4 s
check net-drip drip 1 'Error from server (NotFound): pods "p1" not found' 1200 $((1200 + FAST)) \
  -- get pod p1
# (the wording varies between runs: "net/http: request canceled" or "context deadline exceeded",
# with or without the parenthesis: which of client-go's timers fires first)
BODY_TIMEOUT='(net/http: request canceled|context deadline exceeded)( \(Client\.Timeout or context cancellation while reading body\))?'
check net-drip-stall drip-stall-after-headers 1 \
  "~^${KLOG}Unexpected error when reading response body: $BODY_TIMEOUT
error: unexpected error when reading response body\. Please retry\. Original error: $BODY_TIMEOUT\$" \
  2000 $((2000 + FAST)) -- get pod p1 --request-timeout=2s

# ---- refuse: closed for 4 s, then open again on the same port ----
if selected refuse && start net-refuse refuse; then
  if warm refuse; then
    expect refuse-get 1 \
      'The connection to the server 127.0.0.1:@PORT@ was refused - did you specify the right host or port?' \
      0 $FAST -- get pods
    expect refuse-post 1 \
      'The connection to the server 127.0.0.1:@PORT@ was refused - did you specify the right host or port?' \
      0 $FAST -- run web --image=busybox
    if wait_port open; then
      expect refuse-reopened 0 'No resources found in default namespace.' 0 $FAST -- get pods
    else
      RC='' MS='' OUT='' ERR="port $PORT still closed after 10 s"
      report refuse-reopened 0 "the port did not reopen" get pods
    fi
  fi
  end
fi

# ---- blackhole ----
if selected blackhole && start net-blackhole blackhole; then
  if warm blackhole; then
    # the wording varies between identical runs (which of client-go's timers fires first)
    expect blackhole-request-timeout 1 \
      '~^Unable to connect to the server: (net/http: request canceled while waiting for connection|context deadline exceeded)( \(Client\.Timeout exceeded while awaiting headers\))?$' \
      3000 $((3000 + FAST)) -- get pods --request-timeout=3s
    if [ "${FAULTS_SLOW:-0}" = 1 ]; then
      expect blackhole-dial-timeout 1 \
        'Unable to connect to the server: dial tcp 127.0.0.1:@PORT@: i/o timeout' \
        30000 $((30000 + FAST)) -- get pods
    fi
  fi
  end
fi

# ---- accept-hang, accept-reset ----
if selected accept-hang && start net-accept-hang accept-hang; then
  warm accept-hang &&
    expect accept-hang-request-timeout 1 "~$TIMEOUT_RE" 2000 $((2000 + FAST)) \
      -- get pods --request-timeout=2s
  end
fi
# tls-stall: over TLS the handshake never completes; Go gives up after its 10 s handshake timeout
if [ "$TRANSPORT" = https ] && selected tls-stall && start net-tls-stall tls-stall; then
  warm tls-stall &&
    expect tls-stall 1 'Unable to connect to the server: net/http: TLS handshake timeout' \
      10000 $((10000 + FAST)) -- get pods
  end
fi
# The RST races the client's connect: Go reports it from connect, from its first read or from its
# first write (ECONNRESET, or EPIPE: broken pipe).
RST_ANY="(dial tcp $A: connect|read tcp $L->$A: read|write tcp $L->$A: write): (connection reset by peer|broken pipe)"
if selected accept-reset && start net-accept-reset accept-reset; then
  if warm accept-reset; then
    expect accept-reset-post 1 "~^Unable to connect to the server: $RST_ANY\$" 0 $FAST \
      -- run web --image=busybox
    expect accept-reset-get 1 \
      "~^(Unable to connect to the server: $RST_ANY|error: Get \"@URL@/api/v1/namespaces/default/pods/p1\": $RST_ANY - error from a previous attempt: $RST_ANY)\$" \
      8000 $((RETRIED + FAST)) -- get pod p1
  fi
  end
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
