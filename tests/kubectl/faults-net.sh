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
. "$(dirname "$0")/lib.sh"

KTIMEOUT=45 # bound on every kubectl call, in seconds (the slowest check takes about 31 s)
faults_init faults "$@"

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

# warm NAME: the first call on a listener scenario: fills the discovery cache and fires the marker
# rule that switches the listener fault on. 0 when it went as expected.
warm() {
  expect "$1-warm" 1 'Error from server (NotFound): pods "warm" not found' 0 $FAST -- get pod warm
  [ "$RC" = 1 ]
}

faults_probe net-reset-before-response

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

faults_summary
