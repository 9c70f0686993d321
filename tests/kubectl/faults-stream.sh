#!/usr/bin/env bash
# faults-stream.sh -- what kubectl exec shows of each stream fault type and of a scripted command
# (tests/scenarios/stream/*.json), over WebSocket (kubectl's default since 1.30) and SPDY
# (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false): exec-no-status (a failing command exits 0),
# exec-exit (the Status's code), exec-abort (WebSocket: close 1006; SPDY: exit 0 after the output
# so far), exec-stall (kubectl waits until killed), exec-no-pong (a command shorter than the read
# deadline is not affected; the 61 s WebSocket deadline itself is not waited for here), and a
# "commands" entry (its stdout, stderr and exit code). kubectl 1.32 is run directly, every call
# bounded by `timeout`, against one server per scenario with one Running pod r1.
#
#   tests/kubectl/faults-stream.sh /path/to/kubefault
#
# Prints `ok|FAIL <check>` per check and, last, `N passed, M failed`. Exit 0 when M is 0, 1
# otherwise, 77 (skip) when kubectl is missing or `kubefault serve` takes no scenario file.
#
# Environment: KUBECTL (default /usr/lib/google-cloud-sdk/bin/kubectl.1.32), FAULTS_TRANSPORT
# (https, the default, or http), FAULTS_ONLY (a substring: run only the checks whose name
# contains it), FAULTS_KEEP=1 (keep the work directory and print its path).
set -u
. "$(dirname "$0")/lib.sh"

KTIMEOUT=30 # bound on every kubectl call, in seconds
FAST=5000   # ms: an answer that should come at once, with room for a slow machine
faults_init stream "$@"

fail_details() {
  echo "    kubectl ${LAST[*]}  (rc $RC, ${MS} ms)"
  [ -n "$OUT" ] && printf '%s\n' "$OUT" | sed 's/^/    stdout: /'
  [ -n "$ERR" ] && printf '%s\n' "$ERR" | sed 's/^/    stderr: /'
  server_tail
}

# exec_is NAME WS RC STDOUT STDERR MIN_MS MAX_MS -- ARGS...: kubectl exec ARGS with
# KUBECTL_REMOTE_COMMAND_WEBSOCKETS=WS; exit code RC, stdout exactly STDOUT, stderr STDERR (exact,
# or "~REGEX"), within MIN_MS..MAX_MS.
exec_is() {
  local name=$1 ws=$2 rc=$3 out=$4 err=$5 min=$6 max=$7
  shift 8
  KUBECTL_REMOTE_COMMAND_WEBSOCKETS=$ws kc exec "$@"
  WHY=''
  rc_is "$rc" && text_is stdout "$OUT" "$out" && text_is stderr "$ERR" "$err" &&
    ms_within "$min" "$max"
  verdict "$name"
}

# up SCENARIO: a server on it with pod r1 Running; 0 when it is.
up() {
  start "$1" || return 1
  kc run r1 --image=busybox -- sleep 3600
  [ "$RC" = 0 ] && kc wait --for=condition=Ready pod/r1 --timeout=20s
  [ "$RC" = 0 ] && return 0
  report "$1-pod" 0 "pod r1 did not become Ready"
  end
  return 1
}

faults_probe no-status

KLOG='E[0-9]{4} [0-9:.]+ +[0-9]+ v2\.go:1(50|67)\] "Unhandled Error" err="'
ERRSTREAM='error: error reading from error stream: next reader: '
WS1006='websocket: close 1006 \(abnormal closure\): unexpected EOF'
NL=$'\n'

for ws in true false; do
  tr=$([ $ws = true ] && echo ws || echo spdy)

  if selected "no-status-$tr" && up no-status; then
    exec_is "no-status-$tr" $ws 0 '' '' 0 $FAST -- r1 -- sh -c 'exit 3'
    exec_is "no-status-$tr-echo" $ws 0 'hi' '' 0 $FAST -- r1 -- echo hi
    finish no-status
  fi

  if selected "exit-$tr" && up exit; then
    exec_is "exit-$tr" $ws 7 '' 'command terminated with exit code 7' 0 $FAST -- r1 -- sh -c 'exit 3'
    exec_is "exit-$tr-echo" $ws 7 'hi' 'command terminated with exit code 7' 0 $FAST -- r1 -- echo hi
    finish exit
  fi

  if selected "abort-$tr" && up abort; then
    if [ $ws = true ]; then
      exec_is "abort-$tr" $ws 1 'started' \
        "~^${KLOG}next reader: ${WS1006}\"${NL}${KLOG}next reader: ${WS1006}\"${NL}${ERRSTREAM}${WS1006}\$" \
        500 $((500 + FAST)) -- r1 -- sh -c 'sleep 5; exit 3'
    else
      exec_is "abort-$tr" $ws 0 'started' '' 500 $((500 + FAST)) -- r1 -- sh -c 'sleep 5; exit 3'
    fi
    finish abort
  fi

  if selected "stall-$tr" && up stall; then
    KTIMEOUT=4 exec_is "stall-$tr" $ws 124 'started' '' 4000 $((4000 + FAST)) -- \
      r1 -- sh -c 'sleep 1; exit 3'
    finish stall
  fi

  if selected "no-pong-$tr" && up no-pong; then
    exec_is "no-pong-$tr" $ws 3 "started${NL}done" 'command terminated with exit code 3' \
      6000 $((6000 + FAST)) -- r1 -- sh -c 'sleep 6; exit 3'
    finish no-pong
  fi

  # the upgrade refused with a Status: a StatusError, before any stream (WebSocket falls back to
  # SPDY on a non-101 and meets the same answer)
  if selected "dial-backend-$tr" && up dial-backend; then
    exec_is "dial-backend-$tr" $ws 1 '' \
      'Error from server (InternalError): error dialing backend: dial tcp 10.0.0.5:10250: connect: connection refused' \
      0 $FAST -- r1 -- echo hi
    finish dial-backend
  fi

  if selected "commands-$tr" && up commands; then
    exec_is "commands-$tr" $ws 3 "deploying${NL}done" "careful${NL}command terminated with exit code 3" \
      200 $((200 + FAST)) -- r1 -- deploy prod
    exec_is "commands-$tr-unmatched" $ws 0 'a b' '' 0 $FAST -- r1 -- echo a b
    finish commands
  fi
done

faults_summary
