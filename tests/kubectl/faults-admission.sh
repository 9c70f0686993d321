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
. "$(dirname "$0")/lib.sh"

KTIMEOUT=30 # bound on every kubectl call, in seconds (the slowest check takes about 1 s)
FAST=5000   # ms: an answer that should come at once, with room for a slow machine
faults_init admission "$@"

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
# Checks.

# expect NAME RC STDOUT STDERR MIN_MS MAX_MS -- ARGS...: run kubectl ARGS against the current
# server; its exit code must be RC, its stdout exactly STDOUT and its stderr exactly STDERR, and it
# must take MIN_MS..MAX_MS milliseconds.
expect() {
  local name=$1 rc=$2 want_out=$3 want_err=$4 min=$5 max=$6
  shift 7
  selected "$name" || return 0
  kc "$@"
  WHY=''
  rc_is "$rc" && text_is stderr "$ERR" "$want_err" && text_is stdout "$OUT" "$want_out" &&
    ms_within "$min" "$max"
  verdict "$name" "$@"
}

# scenario NAME: start the server for the checks that follow (they share it).
scenario() {
  end
  start "$1"
}

faults_probe readonly-root-filesystem

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

faults_summary
