#!/usr/bin/env bash
# faults-admission.sh -- what kubectl prints when an admission policy acts: for each scenario under
# tests/scenarios/admission/, serve it, run kubectl 1.32 directly (fresh KUBECACHEDIR, every call
# bounded by `timeout`), and compare its exit code, stdout and stderr with kube-apiserver's texts:
# catalogue 18 (read-only root filesystem: `kubectl run` and `kubectl create -f`, containers and
# init containers), catalogue 20 (hostAliases on a Windows-targeted pod), catalogue 6 (a webhook
# that times out or cannot be called), and exempt objects (label, annotation, namespace) passing.
#
#   tests/kubectl/faults-admission.sh /path/to/kubefault
#
# Prints `ok|FAIL <check>` per check (a FAIL is followed by the command, its exit code, duration,
# stdout and stderr) and, last, `N passed, M failed`. Exit 0 when M is 0, 1 otherwise, 77 (skip)
# when kubectl is missing or `kubefault serve` takes no scenario file.
#
# Environment: KUBECTL (default /usr/lib/google-cloud-sdk/bin/kubectl.1.32), FAULTS_TRANSPORT
# (https, the default: TLS with the bearer token; or http), FAULTS_ONLY (a substring: run only the
# checks whose name contains it), FAULTS_KEEP=1 (keep the work directory and print its path).
set -u

KUBECTL=${KUBECTL:-/usr/lib/google-cloud-sdk/bin/kubectl.1.32}
TRANSPORT=${FAULTS_TRANSPORT:-https}
HERE=$(cd "$(dirname "$0")" && pwd)
SCENARIOS=$(cd "$HERE/../scenarios/admission" && pwd)
KTIMEOUT=30 # bound on every kubectl call, in seconds (the slowest check takes about 1 s)
FAST=5000   # ms: an answer that should come at once, with room for a slow machine

usage() { echo "usage: $0 /path/to/kubefault" >&2; exit 2; }
[ $# -eq 1 ] || usage
KUBEFAULT=$1
[ -x "$KUBEFAULT" ] || { echo "$0: $KUBEFAULT is not an executable" >&2; exit 2; }
if [ ! -x "$KUBECTL" ]; then
  echo "SKIP: no kubectl at $KUBECTL"
  exit 77
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kubefault-faults-admission.XXXXXX")
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
# Manifests (JSON is YAML): written once, named in `create -f` messages by their path.
M=$WORK/manifests
mkdir -p "$M"
cat >"$M/pod-rw.yaml" <<'EOF'
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "rw"},
 "spec": {"restartPolicy": "Never", "containers": [
   {"name": "helper", "image": "busybox", "securityContext": {"readOnlyRootFilesystem": true}},
   {"name": "build", "image": "busybox"}]}}
EOF
cat >"$M/pod-ro.yaml" <<'EOF'
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ro"},
 "spec": {"restartPolicy": "Never",
  "initContainers": [{"name": "init-permissions", "image": "busybox",
                      "securityContext": {"readOnlyRootFilesystem": true}}],
  "containers": [
   {"name": "build", "image": "busybox", "securityContext": {"readOnlyRootFilesystem": true}},
   {"name": "helper", "image": "busybox", "securityContext": {"readOnlyRootFilesystem": true}}]}}
EOF
cat >"$M/pod-init-rw.yaml" <<'EOF'
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "init-rw"},
 "spec": {"restartPolicy": "Never",
  "initContainers": [{"name": "init-permissions", "image": "busybox",
                      "securityContext": {"readOnlyRootFilesystem": false}}],
  "containers": [
   {"name": "build", "image": "busybox", "securityContext": {"readOnlyRootFilesystem": true}}]}}
EOF
cat >"$M/pod-windows.yaml" <<'EOF'
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "win"},
 "spec": {"restartPolicy": "Never", "nodeSelector": {"kubernetes.io/os": "windows"},
  "hostAliases": [{"ip": "127.0.0.1", "hostnames": ["my-windows-image"]}],
  "containers": [{"name": "build", "image": "my-windows-image"}]}}
EOF
cat >"$M/pod-linux-aliases.yaml" <<'EOF'
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "lin"},
 "spec": {"restartPolicy": "Never", "nodeSelector": {"kubernetes.io/os": "linux"},
  "hostAliases": [{"ip": "127.0.0.1", "hostnames": ["svc"]}],
  "containers": [{"name": "build", "image": "busybox"}]}}
EOF
cat >"$M/secret-exempt.yaml" <<'EOF'
{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s-exempt",
  "labels": {"kubefault.io/webhook-exempt": "true"}}, "stringData": {"a": "b"}}
EOF

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

end() {
  [ -n "$SERVER_PID" ] || return 0
  kill "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=
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

selected() { [ -z "${FAULTS_ONLY:-}" ] || [[ $1 == *"$FAULTS_ONLY"* ]]; }

# expect NAME RC STDOUT STDERR MIN_MS MAX_MS -- ARGS...: run kubectl ARGS against the current
# server; its exit code must be RC, its stdout exactly STDOUT and its stderr exactly STDERR, and it
# must take MIN_MS..MAX_MS milliseconds.
expect() {
  local name=$1 rc=$2 want_out=$3 want_err=$4 min=$5 max=$6
  shift 7
  selected "$name" || return 0
  kc "$@"
  local ok=1 why=''
  if [ "$RC" != "$rc" ]; then
    ok=0 why="exit code $RC, expected $rc"
  elif [ "$ERR" != "$want_err" ]; then
    ok=0 why="stderr is not: $want_err"
  elif [ "$OUT" != "$want_out" ]; then
    ok=0 why="stdout is not: $want_out"
  elif [ "$MS" -lt "$min" ] || [ "$MS" -gt "$max" ]; then
    ok=0 why="took $MS ms, expected $min..$max"
  fi
  report "$name" "$ok" "$why" "$@"
}

# scenario NAME: start the server for the checks that follow (they share it).
scenario() {
  end
  if ! begin "$1"; then
    RC=${SERVER_RC:-} MS=0 OUT='' ERR=$(cat "$DIR/server.log")
    report "$1" 0 "kubefault serve did not start"
    return 1
  fi
}

# Before anything: does this kubefault serve scenarios?
if ! begin readonly-root-filesystem; then
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

GK='admission webhook "validation.gatekeeper.sh" denied the request: [psp-readonlyrootfilesystem] only read-only root filesystem container is allowed:'
WIN='admission webhook "windows.common-webhooks.networking.gke.io" denied the request: spec.hostAliases: Invalid value: []v1.HostAlias{v1.HostAlias{IP:"127.0.0.1", Hostnames:[]string{"my-windows-image"}}}: Windows does not support this field.'

# ---- catalogue 18: read-only root filesystem ----
if scenario readonly-root-filesystem; then
  # kubectl run names the container after the pod
  expect ro-run-denied 1 '' "Error from server (Forbidden): $GK web" 0 $FAST \
    -- run web --image=busybox
  expect ro-create-f-denied 1 '' \
    "Error from server (Forbidden): error when creating \"$M/pod-rw.yaml\": $GK build" 0 $FAST \
    -- create -f "$M/pod-rw.yaml"
  expect ro-create-f-init-denied 1 '' \
    "Error from server (Forbidden): error when creating \"$M/pod-init-rw.yaml\": $GK init-permissions" \
    0 $FAST -- create -f "$M/pod-init-rw.yaml"
  expect ro-create-f-compliant 0 'pod/ro created' '' 0 $FAST -- create -f "$M/pod-ro.yaml"
  expect ro-exempt-label 0 'pod/ex-label created' '' 0 $FAST \
    -- run ex-label --image=busybox --labels=kubefault.io/exempt=true
  expect ro-exempt-annotation 0 'pod/ex-annotation created' '' 0 $FAST \
    -- run ex-annotation --image=busybox --annotations=kubefault.io/policy=skip
  expect ro-exempt-namespace 0 'pod/ex-ns created' '' 0 $FAST \
    -- run ex-ns -n exempt-ci --image=busybox
  # not exempt: the label's value must match, and another namespace is not excused
  expect ro-exempt-wrong-value 1 '' "Error from server (Forbidden): $GK ex-no" 0 $FAST \
    -- run ex-no --image=busybox --labels=kubefault.io/exempt=false
  expect ro-other-namespace 1 '' "Error from server (Forbidden): $GK job" 0 $FAST \
    -- run job -n gitlab-runner --image=busybox
  # nothing denied was stored
  expect ro-denied-not-stored 1 '' 'Error from server (NotFound): pods "web" not found' 0 $FAST \
    -- get pod web -o name
fi

# ---- catalogue 20: hostAliases on a Windows-targeted pod ----
if scenario windows-host-aliases; then
  expect win-create-f-denied 1 '' \
    "Error from server (BadRequest): error when creating \"$M/pod-windows.yaml\": $WIN" 0 $FAST \
    -- create -f "$M/pod-windows.yaml"
  expect win-run-denied 1 '' "Error from server (BadRequest): $WIN" 0 $FAST \
    -- run win2 --image=my-windows-image \
    '--overrides={"spec":{"nodeSelector":{"kubernetes.io/os":"windows"},"hostAliases":[{"ip":"127.0.0.1","hostnames":["svc"]}]}}'
  expect win-without-aliases 0 'pod/win3 created' '' 0 $FAST \
    -- run win3 --image=my-windows-image \
    '--overrides={"spec":{"nodeSelector":{"kubernetes.io/os":"windows"}}}'
  expect win-linux-aliases 0 'pod/lin created' '' 0 $FAST -- create -f "$M/pod-linux-aliases.yaml"
fi

# ---- catalogue 6: the webhook times out, or cannot be called ----
if scenario webhook-timeout; then
  # kubectl's typed `create secret` prints "failed to create secret <err>" (no colon)
  expect webhook-timeout-secret 1 '' \
    'error: failed to create secret Timeout: request did not complete within requested timeout' \
    1000 $((1000 + FAST)) -- create secret generic s1 --from-literal=a=b
  expect webhook-timeout-create-f-exempt-label 0 'secret/s-exempt created' '' 0 $FAST \
    -- create -f "$M/secret-exempt.yaml"
  expect webhook-timeout-exempt-namespace 0 'secret/s2 created' '' 0 $FAST \
    -- create secret generic s2 -n exempt-ci --from-literal=a=b
  expect webhook-failed-configmap 1 '' \
    'error: failed to create configmap: Internal error occurred: failed calling webhook "example.webhook.service": failed to call webhook: Post "https://example-webhook.default.svc:443/mutate?timeout=1s": context deadline exceeded' \
    1000 $((1000 + FAST)) -- create configmap cm1 --from-literal=a=b
fi
end

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
