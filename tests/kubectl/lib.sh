# lib.sh -- what the tests/kubectl scripts share: the faults-*.sh scaffolding (arguments, kubectl or
# skip, a work directory and its traps, one `kubefault serve SCENARIO` at a time, kubectl calls
# bounded by `timeout` and timed, `ok|FAIL NAME` lines and the final `N passed, M failed`), and for
# run.sh the argument check and the server's start-up banner test.
#
# Sourced, never run: `. "$(dirname "$0")/lib.sh"`; it only defines functions. A faults script sets
# KTIMEOUT (the bound on every kubectl call, in seconds), then calls faults_init SUBDIR "$@" and
# faults_probe SCENARIO, runs its checks and ends with faults_summary. It may define its own kc,
# fail_details, expect or check after sourcing this (faults-watch.sh, faults-pods.sh and
# faults-admission.sh do, from the pieces below).
#
# Globals: KUBEFAULT (kubefault_arg); KUBECTL, TRANSPORT, HERE, SCENARIOS, WORK (faults_init); DIR,
# SERVER_PID, SERVER_RC, PORT, SCHEME (begin); RC, OUT, ERR, MS, LAST (kc); PASSED, FAILED; WHY
# (rc_is, text_is, ms_within). Environment: KUBECTL (default /usr/lib/google-cloud-sdk/bin/kubectl.1.32),
# FAULTS_TRANSPORT (https, the default, or http), KF_TEST_WRAPPER (START_TRIES), FAULTS_ONLY (a substring: run only the checks
# whose name contains it), FAULTS_KEEP=1 (keep the work directory and print its path).

usage() { echo "usage: $0 /path/to/kubefault" >&2; exit 2; }

# START_TRIES: tenths of a second a server gets to print its banner. KF_TEST_WRAPPER (tests/wrap.sh)
# runs every kubefault under a wrapper such as valgrind, which starts it hundreds of times slower.
START_TRIES=100
[ -z "${KF_TEST_WRAPPER:-}" ] || START_TRIES=600

# kubefault_arg "$@": exactly one argument, an executable kubefault (sets KUBEFAULT); exit 2
# otherwise.
kubefault_arg() {
  [ $# -eq 1 ] || usage
  KUBEFAULT=$1
  [ -x "$KUBEFAULT" ] || { echo "$0: $KUBEFAULT is not an executable" >&2; exit 2; }
}

# server_up FILE: the server's stdout FILE has its banner (it listens and wrote the kubeconfig).
server_up() { grep -q " listening on " "$1" 2>/dev/null && grep -q "^kubeconfig: " "$1"; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---------------------------------------------------------------------------------------------------
# Set-up. faults_init SUBDIR "$@": scenarios from tests/scenarios/SUBDIR, the kubefault argument,
# kubectl (exit 77, skip, when it is missing), the work directory (removed on exit) and the traps.
faults_init() {
  local subdir=$1
  shift
  KUBECTL=${KUBECTL:-/usr/lib/google-cloud-sdk/bin/kubectl.1.32}
  TRANSPORT=${FAULTS_TRANSPORT:-https}
  HERE=$(cd "$(dirname "$0")" && pwd)
  SCENARIOS=$(cd "$HERE/../scenarios/$subdir" && pwd)
  kubefault_arg "$@"
  if [ ! -x "$KUBECTL" ]; then
    echo "SKIP: no kubectl at $KUBECTL"
    exit 77
  fi
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/kubefault-$(basename "$0" .sh).XXXXXX")
  SERVER_PID=
  trap faults_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  DIR='' PORT='' SCHEME=''
  PASSED=0 FAILED=0
  OUT='' ERR='' RC='' MS='' LAST=() WHY=''
}

faults_cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  if [ "${FAULTS_KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
}

# ---------------------------------------------------------------------------------------------------
# The server. begin SCENARIO: start kubefault on it (sets DIR, SERVER_PID, PORT, SCHEME); 0 when it
# is up. Otherwise 1, with its exit status in SERVER_RC (a server still without its banner after
# 10 s, 60 s under a slow wrapper such as valgrind (KF_TEST_WRAPPER), is killed first).
begin() {
  local name=$1 args i url
  DIR=$WORK/$name.$RANDOM
  mkdir -p "$DIR/cache"
  args=(serve --port 0 --kubeconfig "$DIR/kubeconfig" --verbose)
  [ "$TRANSPORT" = http ] && args+=(--plain-http)
  args+=("$SCENARIOS/$name.json")
  "$KUBEFAULT" "${args[@]}" >"$DIR/server.out" 2>"$DIR/server.log" &
  SERVER_PID=$!
  for i in $(seq "$START_TRIES"); do # at most 10 s (60 s under a slow wrapper)
    if server_up "$DIR/server.out"; then
      url=$(sed -n 's/.* listening on \(https*\):\/\/127\.0\.0\.1:\([0-9]*\).*/\1 \2/p' \
        "$DIR/server.out")
      SCHEME=${url% *} PORT=${url#* }
      warm_up
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  SERVER_RC=$?
  SERVER_PID=
  return 1
}

# warm_up: when the script sets WARM_UP=1 and a slow wrapper runs the server (KF_TEST_WRAPPER:
# valgrind), one TLS handshake without a request, so that the server's first handshake (valgrind
# translating OpenSSL's code on first use: over a second) does not eat a kubectl --request-timeout
# the script times. No request reaches the journal or a rule, but the connection is the server's
# first: scripts whose rules count connections leave WARM_UP unset.
warm_up() {
  [ "${WARM_UP:-0}" = 1 ] && [ -n "${KF_TEST_WRAPPER:-}" ] && [ "$SCHEME" = https ] || return 0
  timeout 60 openssl s_client -connect "127.0.0.1:$PORT" </dev/null >/dev/null 2>&1 || true
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

# finish NAME: the end of NAME's server: end_checked when CHECK_SHUTDOWN is 1, else end.
finish() {
  if [ "${CHECK_SHUTDOWN:-0}" = 1 ]; then end_checked "$1"; else end; fi
}

# faults_probe SCENARIO: before anything, does this kubefault serve scenarios? Exit 77 (skip) when
# `serve` rejects a scenario file as a usage error, 1 when the server does not start otherwise.
faults_probe() {
  if ! begin "$1"; then
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
}

# ---------------------------------------------------------------------------------------------------
# Checks.

# kc ARGS...: run kubectl against the current server; sets RC, OUT, ERR, MS and LAST (the ARGS).
kc() {
  local t0
  t0=$(now_ms)
  LAST=("$@")
  KUBECONFIG=$DIR/kubeconfig KUBECACHEDIR=$DIR/cache timeout "$KTIMEOUT" "$KUBECTL" "$@" \
    >"$DIR/out" 2>"$DIR/err"
  RC=$?
  MS=$(($(now_ms) - t0))
  OUT=$(cat "$DIR/out")
  ERR=$(cat "$DIR/err")
}

# report NAME OK WHY [ARGS...]: count the check; print `ok NAME`, or `FAIL NAME: WHY` and then
# fail_details ARGS.
report() {
  local name=$1 ok=$2 why=$3
  shift 3
  if [ "$ok" = 1 ]; then
    PASSED=$((PASSED + 1))
    echo "ok $name"
    return
  fi
  FAILED=$((FAILED + 1))
  echo "FAIL $name: $why"
  fail_details "$@"
}

# fail_details ARGS...: under a FAIL, the command (kubectl ARGS), its exit code and duration, its
# stdout and stderr, and the end of the server's log.
fail_details() {
  echo "    kubectl $*  (rc $RC, ${MS} ms)"
  [ -n "$OUT" ] && printf '%s\n' "$OUT" | sed 's/^/    stdout: /'
  printf '%s\n' "$ERR" | sed 's/^/    stderr: /'
  server_tail
}

server_tail() {
  [ -s "$DIR/server.log" ] && tail -n 5 "$DIR/server.log" | sed 's/^/    server: /'
}

# The parts of an expect, each about the last kc: on a mismatch it sets WHY and returns 1, so that
# `WHY=''; rc_is ... && text_is ... && ms_within ...` keeps the first mismatch; verdict reports it.
rc_is() { [ "$RC" = "$1" ] || { WHY="exit code $RC, expected $1"; return 1; }; }

# text_is WHAT TEXT WANT [NORMALISED]: when WANT starts with "~", TEXT matches the extended regex
# after it; otherwise TEXT (or NORMALISED, when given) is exactly WANT. WHAT ("stderr") names it.
text_is() {
  local what=$1 text=$2 want=$3
  if [ "${want:0:1}" = "~" ]; then
    [[ $text =~ ${want:1} ]] || { WHY="$what does not match /${want:1}/"; return 1; }
  elif [ $# -ge 4 ]; then
    [ "$4" = "$want" ] || { WHY="$what (normalised) is not:
$want
but:
$4"; return 1; }
  else
    [ "$text" = "$want" ] || { WHY="$what is not: $want"; return 1; }
  fi
}

ms_within() {
  [ "$MS" -ge "$1" ] && [ "$MS" -le "$2" ] || { WHY="took $MS ms, expected $1..$2"; return 1; }
}

# verdict NAME ARGS...: report NAME, ok when WHY is empty.
verdict() {
  local name=$1
  shift
  if [ -z "$WHY" ]; then report "$name" 1 '' "$@"; else report "$name" 0 "$WHY" "$@"; fi
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
  WHY=''
  rc_is "$rc" && text_is stderr "$ERR" "$want" && ms_within "$min" "$max"
  verdict "$name" "$@"
}

selected() { [ -z "${FAULTS_ONLY:-}" ] || [[ $1 == *"$FAULTS_ONLY"* ]]; }

# start SCENARIO [NAME]: begin, or report NAME (default SCENARIO) as failed, its command shown as
# `serve SCENARIO` where a script shows LAST; 0 when the server is up.
start() {
  begin "$1" && return 0
  RC=$SERVER_RC MS=0 OUT='' ERR=$(cat "$DIR/server.log") LAST=(serve "$1")
  report "${2:-$1}" 0 "kubefault serve did not start"
  return 1
}

# check SCENARIO NAME RC STDERR MIN_MS MAX_MS -- ARGS...: one server for one expect.
check() {
  local scenario=$1
  shift
  selected "$1" || return 0
  start "$scenario" "$1" || return 0
  expect "$@"
  finish "$1"
}

# faults_summary: the last line; its status is the script's (0 when nothing failed).
faults_summary() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
