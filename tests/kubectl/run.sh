#!/usr/bin/env bash
# run.sh -- the kubectl matrix: every installed kubectl 1.NN under /usr/lib/google-cloud-sdk/bin, run
# directly (never through the /usr/bin/kubectl dispatcher), against a fresh kubefault reporting the same
# minor, once over TLS with the bearer token and once over plain HTTP.
#
#   tests/kubectl/run.sh /path/to/kubefault
#
# Prints `ok|FAIL <version> <transport> <step>` per check (a FAIL is followed by the command, its exit
# code, stdout, stderr and the server's request log for it), `kubectl 1.NN: P/T passed` per version and,
# last, `N passed, M failed`. Exit 0 when M is 0, 1 otherwise, 77 (skip) when no kubectl is installed.
#
# Environment: KUBECTL_DIR (default /usr/lib/google-cloud-sdk/bin), KUBECTL_VERSIONS (e.g. "1.29 1.32";
# default: every kubectl.1.* found), KUBECTL_JOBS (versions run in parallel; default: number of CPUs),
# KUBECTL_KEEP=1 (keep the work directory with every server log and kubeconfig, and print its path).
set -u
. "$(dirname "$0")/lib.sh"

KUBECTL_DIR=${KUBECTL_DIR:-/usr/lib/google-cloud-sdk/bin}
HERE=$(cd "$(dirname "$0")" && pwd)
POD_YAML=$HERE/pod.yaml
KTIMEOUT=60            # bound on every kubectl call, in seconds
START_DELAY=100        # ms scheduled -> Running/Ready: small, but not 0, so `wait` really waits
TERMINATE_DELAY=1500   # ms graceful delete -> gone, so `wait --for=delete` and `delete` really wait

kubefault_arg "$@"
KUBEFAULT=$(cd "$(dirname "$KUBEFAULT")" && pwd)/$(basename "$KUBEFAULT")

# ---------------------------------------------------------------------------------------------------
# Which kubectl versions.
versions=()
if [ -z "${KUBECTL_VERSIONS:-}" ] && [ -n "${KF_TEST_WRAPPER:-}" ] &&
  [ -x "$KUBECTL_DIR/kubectl.1.27" ] && [ -x "$KUBECTL_DIR/kubectl.1.33" ]; then
  # under a slow wrapper (the valgrind pass, which checks the server's memory): the oldest and the
  # newest, SPDY and WebSocket, instead of all seven (each costs a minute of CPU there)
  KUBECTL_VERSIONS="1.27 1.33"
  echo "KF_TEST_WRAPPER: kubectl $KUBECTL_VERSIONS only"
fi
if [ -n "${KUBECTL_VERSIONS:-}" ]; then
  read -r -a versions <<<"$KUBECTL_VERSIONS"
else
  for bin in "$KUBECTL_DIR"/kubectl.1.*; do
    [ -x "$bin" ] || continue
    v=${bin##*/kubectl.}
    [[ $v =~ ^1\.[0-9]+$ ]] && versions+=("$v")
  done
fi
if [ ${#versions[@]} -eq 0 ]; then
  echo "SKIP: no kubectl found under $KUBECTL_DIR"
  exit 77
fi
mapfile -t versions < <(printf '%s\n' "${versions[@]}" | sort -t. -k1,1n -k2,2n)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kubefault-kubectl.XXXXXX")
worker_pids=()
cleanup() {
  local p
  for p in "${worker_pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  if [ "${KUBECTL_KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# retry TENTHS CMD...: run CMD every 0.1 s until it succeeds, at most TENTHS times.
retry() {
  local n=$1
  shift
  while [ "$n" -gt 0 ]; do
    "$@" && return 0
    sleep 0.1
    n=$((n - 1))
  done
  return 1
}

# ---------------------------------------------------------------------------------------------------
# One server. start_server DIR TRANSPORT VERSION: sets SERVER_PID, SERVER_LOG, KUBECONFIG_FILE.
SERVER_PID=
start_server() {
  local dir=$1 transport=$2 version=$3
  local args=(serve --kube-version "$version" --port 0 --kubeconfig "$dir/kubeconfig"
              --start-delay "$START_DELAY" --terminate-delay "$TERMINATE_DELAY" --verbose)
  [ "$transport" = http ] && args+=(--plain-http)
  SERVER_CMD="kubefault ${args[*]}"
  SERVER_LOG=$dir/server.log
  KUBECONFIG_FILE=$dir/kubeconfig
  "$KUBEFAULT" "${args[@]}" >"$dir/server.out" 2>"$SERVER_LOG" &
  SERVER_PID=$!
  retry "$START_TRIES" server_up_or_gone "$dir/server.out" # at most 10 s (lib.sh)
  server_up "$dir/server.out"
}
# (server_up FILE: lib.sh)
server_gone() { ! kill -0 "$SERVER_PID" 2>/dev/null; }
server_up_or_gone() { server_up "$1" || server_gone; }

# stop_server: SIGTERM, then SIGKILL after 5 s (30 s under a slow wrapper, whose exit checks take
# time). Returns 0 when the server exited 0 in time.
stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  local rc=0
  kill "$SERVER_PID" 2>/dev/null
  retry $((START_TRIES / 2)) server_gone || { kill -KILL "$SERVER_PID" 2>/dev/null; rc=1; }
  wait "$SERVER_PID" 2>/dev/null || rc=1
  SERVER_PID=
  return "$rc"
}

# ---------------------------------------------------------------------------------------------------
# Steps and checks. A step runs one or more kubectl commands and checks each; the first mismatch makes
# the step fail and is the one reported.
PASSED=0 FAILED=0
STEP='' STEP_FAILED=0 DETAIL=''
OUT='' ERR='' RC='' CMD='' LOGMARK=0

indent() { sed 's/^/    /'; }

# shell_words ARGS...: the arguments as a command line one can paste (single-quoted where needed).
shell_words() {
  local a q=\' out=
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then out+=" $a"; else out+=" '${a//$q/$q\\$q$q}'"; fi
  done
  printf '%s' "${out# }"
}

# k ARGS...: run kubectl (bounded) with the current server's kubeconfig; sets OUT ERR RC CMD.
k() {
  LOGMARK=$(wc -l <"$SERVER_LOG")
  CMD="kubectl $(shell_words "$@")"
  timeout "$KTIMEOUT" "$KUBECTL" "$@" >"$TDIR/out" 2>"$TDIR/err"
  RC=$?
  OUT=$(cat "$TDIR/out")
  ERR=$(cat "$TDIR/err")
}

step() { STEP=$1 STEP_FAILED=0 DETAIL=; }

# mismatch WHAT: record the last command as the step's failure (only the first one per step).
mismatch() {
  [ "$STEP_FAILED" = 1 ] && return 0
  STEP_FAILED=1
  DETAIL=$(
    echo "  \$ $CMD"
    echo "  expected: $1"
    echo "  exit code: $RC"
    echo "  stdout:"; printf '%s\n' "$OUT" | indent
    echo "  stderr:"; printf '%s\n' "$ERR" | indent
    echo "  server log for this command:"
    tail -n +"$((LOGMARK + 1))" "$SERVER_LOG" | grep -v 'tls error' | head -n 40 | indent
  )
}

want_rc()  { [ "$RC" = "$1" ] || mismatch "exit code $1"; }
want_out() { [ "$OUT" = "$1" ] || mismatch "stdout exactly: $1"; }
want_err() { [ "$ERR" = "$1" ] || mismatch "stderr exactly: ${1:-(empty)}"; }
# want_line REGEX: some stdout line matches the whole extended regex.
want_line() { printf '%s\n' "$OUT" | grep -Eqx -- "$1" || mismatch "a stdout line matching /$1/"; }
# ok_cmd OUT: the common case, rc 0, exact stdout, empty stderr.
ok_cmd() { want_rc 0; want_out "$1"; want_err ""; }

done_step() {
  if [ "$STEP_FAILED" = 0 ]; then
    echo "ok $VERSION $TRANSPORT $STEP"
    PASSED=$((PASSED + 1))
  else
    echo "FAIL $VERSION $TRANSPORT $STEP"
    printf '%s\n' "$DETAIL"
    FAILED=$((FAILED + 1))
  fi
}

# wait_for_line FILE REGEX SECONDS: poll until a line of FILE matches the whole extended regex.
wait_for_line() { retry $(($3 * 10)) grep -Eqx -- "$2" "$1"; }

# tty_typist OUT: what a person types into `kubectl exec -it r1 -- sh`, each line only once the
# screen (OUT) shows the shell is ready for it: typing earlier, while kubectl is still starting (a
# loaded machine), would reach the terminal before kubectl puts it in raw mode, and fixed sleeps
# raced that. Stdin stays open until the exit shows (closing it would send the shell an EOF); all
# the waits together bounded by KTIMEOUT.
tty_typist() {
  local out=$1 end=$((SECONDS + KTIMEOUT))
  # screen_shows GREP-ARGS...: poll OUT until grep matches, until the shared deadline
  screen_shows() {
    while [ "$SECONDS" -lt "$end" ]; do grep -q "$@" "$out" && return 0; sleep 0.1; done
    return 1
  }
  screen_shows -F '# ' && printf 'echo tty-ok\r' &&
    screen_shows -x $'tty-ok\r\\{0,1\\}' && printf 'exit 4\r' &&
    screen_shows -F 'command terminated'
  return 0
}

# ---------------------------------------------------------------------------------------------------
# The sequence, against one server.
sequence() {
  local minor=${VERSION#1.} w_pid w_mark

  # 1.27 prints the long form by default; its --short warns that it is deprecated (kubectl's own text)
  step version
  if [ "$minor" -le 27 ]; then
    k version --short
    want_err "Flag --short has been deprecated, and will be removed in the future. The --short output will become the default."
  else
    k version
    want_err ""
  fi
  want_rc 0
  want_line "Client Version: v${VERSION/./\\.}\.[0-9]+"
  want_line "Server Version: v${VERSION/./\\.}\.0"
  done_step

  step get-empty
  k get pods
  want_rc 0; want_out ""; want_err "No resources found in default namespace."
  done_step

  step run
  k run r1 --image=busybox --restart=Never -- echo hello
  ok_cmd "pod/r1 created"
  done_step

  step wait-ready
  k wait --for=condition=Ready pod/r1 --timeout=20s
  ok_cmd "pod/r1 condition met"
  done_step

  step get-wide
  k get pods -o wide
  want_rc 0; want_err ""
  want_line "NAME +READY +STATUS +RESTARTS +AGE +IP +NODE +NOMINATED NODE +READINESS GATES"
  want_line "r1 +1/1 +Running +0 +[0-9][0-9a-z]* +10\.[0-9.]+ +kubefault-node +<none> +<none>"
  [ "$(printf '%s\n' "$OUT" | wc -l)" = 2 ] || mismatch "exactly two lines"
  done_step

  step get-json
  k get pod r1 -o json
  want_rc 0; want_err ""
  if [ "$(printf '%s\n' "$OUT" | head -n 1)" != "{" ] || [ "$(printf '%s\n' "$OUT" | tail -n 1)" != "}" ]; then
    mismatch "one JSON object"
  fi
  want_line '    "apiVersion": "v1",'
  want_line '    "kind": "Pod",'
  want_line '        "name": "r1",'
  want_line '        "namespace": "default",'
  want_line '        "nodeName": "kubefault-node",'
  want_line '        "phase": "Running",'
  k get pods -o json
  want_rc 0; want_err ""
  want_line '    "kind": "List",'
  want_line '            "kind": "Pod",'
  done_step

  step get-name
  k get pods -o name
  ok_cmd "pod/r1"
  done_step

  step logs
  k logs r1
  ok_cmd "hello"
  done_step

  # exec, attach and logs -f: kubectl >= 1.30 tries WebSocket (v5.channel.k8s.io) first, older
  # ones use SPDY/3.1; KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false makes every version use SPDY. Each
  # step runs both ways ("default" is the version's own choice).
  local mode
  for mode in default spdy; do
    if [ "$mode" = spdy ]; then export KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false
    else unset KUBECTL_REMOTE_COMMAND_WEBSOCKETS; fi

    step "exec-$mode"
    k exec r1 -- echo hi
    ok_cmd "hi"
    k exec r1 -- sh -c 'exit 3'
    want_rc 3; want_out ""; want_err "command terminated with exit code 3"
    k exec r1 -- sh -c 'exit 127'
    want_rc 127; want_out ""; want_err "command terminated with exit code 127"
    k exec r1 -- true
    ok_cmd ""
    done_step

    step "exec-stdin-$mode"
    k exec -i r1 -- cat <<<"line one
line two"
    ok_cmd "line one
line two"
    k exec -i r1 -- sh <<<"echo from-sh
exit 5"
    want_rc 5; want_out "from-sh"; want_err "command terminated with exit code 5"
    done_step

    # a terminal: script(1) gives kubectl a pty; the shell prompts, echoes, and exits 4
    step "exec-tty-$mode"
    LOGMARK=$(wc -l <"$SERVER_LOG")
    CMD="kubectl exec -it r1 -- sh (in a pty; types: echo tty-ok, exit 4)"
    : >"$TDIR/out"
    tty_typist "$TDIR/out" |
      timeout "$KTIMEOUT" script -qec "$(shell_words "$KUBECTL" exec -it r1 -- sh)" /dev/null \
        >"$TDIR/out" 2>"$TDIR/err"
    RC=$? OUT=$(tr -d '\r' <"$TDIR/out") ERR=$(cat "$TDIR/err")
    want_rc 4
    want_line "# echo tty-ok"
    want_line "tty-ok"
    want_line "command terminated with exit code 4"
    done_step

    # attach: what is typed runs in the container's shell; its output is the container's, which
    # the attached client sees; stdin's end ends the attach
    step "attach-$mode"
    k attach -i r1 <<<"echo via-attach-$mode"
    want_rc 0; want_out "via-attach-$mode"
    want_err "If you don't see a command prompt, try pressing enter."
    done_step
  done
  unset KUBECTL_REMOTE_COMMAND_WEBSOCKETS

  step logs-follow
  LOGMARK=$(wc -l <"$SERVER_LOG")
  timeout 30 "$KUBECTL" logs -f r1 >"$TDIR/follow.out" 2>"$TDIR/follow.err" &
  local f_pid=$!
  wait_for_line "$TDIR/follow.out" "hello" 10
  k attach -i r1 <<<"echo followed-line"
  if ! wait_for_line "$TDIR/follow.out" "followed-line" 10; then
    CMD="kubectl logs -f r1" RC="(running)" OUT=$(cat "$TDIR/follow.out") ERR=$(cat "$TDIR/follow.err")
    mismatch "the line the container printed later (followed-line) within 10 s"
  fi
  kill "$f_pid" 2>/dev/null; wait "$f_pid" 2>/dev/null
  CMD="kubectl logs -f r1" RC="(killed)" OUT=$(cat "$TDIR/follow.out") ERR=$(cat "$TDIR/follow.err")
  want_line "hello"
  want_err ""
  done_step

  step describe
  k describe pod r1
  want_rc 0; want_err ""
  want_line "Name: +r1"
  want_line "Status: +Running"
  want_line "Node: +kubefault-node/[0-9.]+"
  want_line "Events:"
  want_line "  Type +Reason +Age +From +Message"
  want_line "  Normal +Scheduled +[0-9][0-9a-z]* +default-scheduler +Successfully assigned default/r1 to kubefault-node"
  want_line "  Normal +Started +[0-9][0-9a-z]* +kubelet +Started container r1"
  done_step

  step get-events
  k get events
  want_rc 0; want_err ""
  want_line "LAST SEEN +TYPE +REASON +OBJECT +MESSAGE"
  want_line "[0-9][0-9a-z]* +Normal +Scheduled +pod/r1 +Successfully assigned default/r1 to kubefault-node"
  want_line "[0-9][0-9a-z]* +Normal +Started +pod/r1 +Started container r1"
  done_step

  step get-watch
  w_mark=$(wc -l <"$SERVER_LOG")
  timeout 30 "$KUBECTL" get pods -w >"$TDIR/watch.out" 2>"$TDIR/watch.err" &
  w_pid=$!
  if ! wait_for_line "$TDIR/watch.out" "r1 +1/1 +Running .*" 10; then
    CMD="kubectl get pods -w" RC="(running)" OUT=$(cat "$TDIR/watch.out") ERR=$(cat "$TDIR/watch.err")
    LOGMARK=$w_mark
    mismatch "the initial list (row r1) within 10 s"
  fi
  k run w1 --image=busybox --restart=Never
  ok_cmd "pod/w1 created"
  if ! wait_for_line "$TDIR/watch.out" "w1 +1/1 +Running +0 +[0-9][0-9a-z]*" 10; then
    CMD="kubectl get pods -w" RC="(running)" OUT=$(cat "$TDIR/watch.out") ERR=$(cat "$TDIR/watch.err")
    LOGMARK=$w_mark
    mismatch "a new row 'w1 1/1 Running' within 10 s"
  fi
  kill "$w_pid" 2>/dev/null; wait "$w_pid" 2>/dev/null
  if [ -s "$TDIR/watch.err" ]; then
    CMD="kubectl get pods -w" RC="(killed)" OUT=$(cat "$TDIR/watch.out") ERR=$(cat "$TDIR/watch.err")
    LOGMARK=$w_mark
    mismatch "empty stderr"
  fi
  done_step

  step create-f
  k create -f "$POD_YAML"
  ok_cmd "pod/c1 created"
  k create -f "$POD_YAML"
  want_rc 1; want_out ""
  want_err "Error from server (AlreadyExists): error when creating \"$POD_YAML\": pods \"c1\" already exists"
  done_step

  # apply: a1 is pod.yaml renamed; the second apply changes the label rev, the third changes nothing.
  sed -e 's/^  name: c1$/  name: a1/' "$POD_YAML" >"$TDIR/apply.yaml"
  step apply-created
  k apply -f "$TDIR/apply.yaml"
  ok_cmd "pod/a1 created"
  done_step

  sed -i -e 's/^    rev: "1"$/    rev: "2"/' "$TDIR/apply.yaml"
  step apply-configured
  k apply -f "$TDIR/apply.yaml"
  ok_cmd "pod/a1 configured"
  k get pod a1 -o 'jsonpath={.metadata.labels.rev}'
  ok_cmd "2"
  done_step

  step apply-unchanged
  k apply -f "$TDIR/apply.yaml"
  ok_cmd "pod/a1 unchanged"
  done_step

  # label, annotate, patch and delete work on p1, made by `run` (no OpenAPI involved), so that they
  # do not depend on create -f / apply -f validation
  step run-fixture
  k run p1 --image=busybox --restart=Never --labels=app=kubefault-test,rev=1 --command -- sleep 3600
  ok_cmd "pod/p1 created"
  done_step

  step label
  k label pod p1 tier=web
  ok_cmd "pod/p1 labeled"
  k get pods -l tier=web -o name
  ok_cmd "pod/p1"
  done_step

  # kubectl 1.27 itself prints "annotate" (kubernetes/kubectl#1462, fixed in 1.28 by kubernetes#118045)
  step annotate
  k annotate pod p1 note=hello
  if [ "$minor" -eq 27 ]; then ok_cmd "pod/p1 annotate"; else ok_cmd "pod/p1 annotated"; fi
  k get pod p1 -o 'jsonpath={.metadata.annotations.note}'
  ok_cmd "hello"
  done_step

  # strategic merge: containers merge by name, so the command survives an image change
  step patch-strategic
  k patch pod p1 -p '{"spec":{"containers":[{"name":"p1","image":"busybox:1.36"}]}}'
  ok_cmd "pod/p1 patched"
  k get pod p1 -o 'jsonpath={.spec.containers[*].name} {.spec.containers[*].image} {.spec.containers[0].command}'
  ok_cmd 'p1 busybox:1.36 ["sleep","3600"]'
  done_step

  step patch-merge
  k patch pod p1 --type=merge -p '{"metadata":{"labels":{"tier":null,"patched":"merge"}}}'
  ok_cmd "pod/p1 patched"
  k get pod p1 -o 'jsonpath={.metadata.labels}'
  ok_cmd '{"app":"kubefault-test","patched":"merge","rev":"1"}'
  done_step

  step patch-json
  k patch pod p1 --type=json -p '[{"op":"replace","path":"/metadata/labels/patched","value":"json"},{"op":"remove","path":"/metadata/annotations/note"}]'
  ok_cmd "pod/p1 patched"
  k get pod p1 -o 'jsonpath={.metadata.labels.patched} {.metadata.annotations}'
  want_rc 0; want_err ""
  [ "$OUT" = "json " ] || [ "$OUT" = "json {}" ] || mismatch "stdout 'json ' (annotation note removed)"
  done_step

  step create-secret
  k create secret generic s1 --from-literal=password=s3cret
  ok_cmd "secret/s1 created"
  k get secret s1 -o 'jsonpath={.type} {.data.password}'
  ok_cmd "Opaque czNjcmV0"
  done_step

  step create-configmap
  k create configmap cm1 --from-literal=greeting=hi
  ok_cmd "configmap/cm1 created"
  k get configmap cm1 -o 'jsonpath={.data.greeting}'
  ok_cmd "hi"
  done_step

  step create-namespace
  k create namespace ns1
  ok_cmd "namespace/ns1 created"
  k get namespace ns1 -o 'jsonpath={.status.phase}'
  ok_cmd "Active"
  done_step

  step auth-can-i
  k auth can-i create pods
  ok_cmd "yes"
  done_step

  # wait --for=delete: d1 keeps its deletionTimestamp for TERMINATE_DELAY ms, so the wait has to watch
  step wait-delete
  k run d1 --image=busybox --restart=Never
  ok_cmd "pod/d1 created"
  k delete pod d1 --wait=false
  ok_cmd "pod \"d1\" deleted"
  k wait --for=delete pod/d1 --timeout=20s
  # it prints the line when it saw the pod go; when the pod was already gone as it first looked
  # (a slow machine: the deletion takes TERMINATE_DELAY), kubectl 1.27/1.28 print nothing: both
  # exit 0, and either way the pod must be gone
  want_rc 0; want_err ""
  [ -z "$OUT" ] || want_out "pod/d1 condition met"
  k get pod d1
  want_rc 1; want_out ""; want_err "Error from server (NotFound): pods \"d1\" not found"
  done_step

  step delete
  k delete pod p1
  ok_cmd "pod \"p1\" deleted"
  k get pod p1                       # gone at once: delete waited
  want_rc 1; want_out ""; want_err "Error from server (NotFound): pods \"p1\" not found"
  done_step

  step watchlist-wait
  k run wl1 --image=busybox --restart=Never
  ok_cmd "pod/wl1 created"
  KUBE_FEATURE_WatchListClient=true k wait --for=condition=Ready pod/wl1 --timeout=20s
  ok_cmd "pod/wl1 condition met"
  done_step

  if [ "$TRANSPORT" = tls ]; then
    step wrong-token
    k --token=not-the-token get pods
    want_rc 1; want_out ""; want_err "error: You must be logged in to the server (Unauthorized)"
    done_step
  fi
}

# ---------------------------------------------------------------------------------------------------
# One kubectl version: both transports, each with its own server, KUBECACHEDIR and HOME.
run_version() {
  VERSION=$1
  KUBECTL=$KUBECTL_DIR/kubectl.$VERSION
  trap stop_server EXIT
  trap 'exit 143' TERM
  local transport dir
  for transport in tls http; do
    TRANSPORT=$transport
    dir=$WORK/$VERSION-$transport
    TDIR=$dir
    mkdir -p "$dir/home" "$dir/cache"
    export HOME=$dir/home KUBECACHEDIR=$dir/cache
    unset KUBE_FEATURE_WatchListClient KUBECTL_REMOTE_COMMAND_WEBSOCKETS
    step server-start
    if start_server "$dir" "$transport" "$VERSION"; then
      done_step
      export KUBECONFIG=$KUBECONFIG_FILE
      sequence
      step server-stop
      LOGMARK=$(wc -l <"$SERVER_LOG")
      if ! stop_server; then
        CMD="kill -TERM <kubefault pid>" RC="(not 0, or still running after 5 s)" OUT='' ERR=''
        mismatch "exit status 0 within 5 s of SIGTERM"
      fi
      done_step
    else
      CMD=$SERVER_CMD RC="(exited or still starting)" OUT=$(cat "$dir/server.out") ERR="(below)" LOGMARK=0
      mismatch "'listening on' and 'kubeconfig:' on stdout within 10 s"
      done_step
      stop_server
    fi
  done
  echo "kubectl $VERSION: $PASSED/$((PASSED + FAILED)) passed"
  echo "$PASSED $FAILED" >"$WORK/$VERSION.count"
}

# ---------------------------------------------------------------------------------------------------
# The matrix: versions in parallel (bounded), output printed in version order.
jobs=${KUBECTL_JOBS:-$(nproc 2>/dev/null || echo 2)}
started=$(date +%s)
running=0
for v in "${versions[@]}"; do
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
  ( run_version "$v" ) >"$WORK/$v.log" 2>&1 &
  worker_pids+=($!)
  running=$((running + 1))
done
wait "${worker_pids[@]}" 2>/dev/null
worker_pids=()

total_passed=0 total_failed=0
for v in "${versions[@]}"; do
  cat "$WORK/$v.log"
  if [ -f "$WORK/$v.count" ]; then
    read -r p f <"$WORK/$v.count"
  else
    echo "FAIL $v - worker ended early"; echo "kubectl $v: 0/1 passed"; p=0 f=1
  fi
  total_passed=$((total_passed + p)) total_failed=$((total_failed + f))
done
echo "matrix: ${#versions[@]} kubectl versions x {tls, http} in $(( $(date +%s) - started )) s"
if [ "$total_failed" -gt 0 ]; then
  # again at the end, where a truncated CI log still shows it: each FAIL with its detail
  echo "the failed steps again:"
  for v in "${versions[@]}"; do
    awk '/^FAIL /{on=1} /^(ok |kubectl 1\.)/{on=0} on' "$WORK/$v.log"
  done
fi
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
