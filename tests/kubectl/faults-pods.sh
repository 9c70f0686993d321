#!/usr/bin/env bash
# faults-pods.sh -- what kubectl shows of each pods-script feature (tests/scenarios/pods/*.json):
# an Unschedulable pod (kubectl wait times out, describe lists FailedScheduling from
# default-scheduler), a delayed schedule, ImagePullBackOff and CrashLoopBackOff in the STATUS
# column, Init:CreateContainerError with containerd's reserved-name message, a pod landing on a
# Windows node with FailedMount events, a dind service ready late, a pod deleted by its node's
# termination (404 afterwards) or left Failed by a node shutdown. kubectl 1.32 is run directly
# (fresh KUBECACHEDIR, every call bounded by `timeout`), against one server per scenario.
#
#   tests/kubectl/faults-pods.sh /path/to/kubefault
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

KTIMEOUT=40 # bound on every kubectl call, in seconds
FAST=5000   # ms: an answer that should come at once, with room for a slow machine
faults_init pods "$@"

# fail_details: as lib.sh's, the command being the last kubectl call's (LAST), and no stderr line
# when it wrote none.
fail_details() {
  echo "    kubectl ${LAST[*]}  (rc $RC, ${MS} ms)"
  [ -n "$OUT" ] && printf '%s\n' "$OUT" | sed 's/^/    stdout: /'
  [ -n "$ERR" ] && printf '%s\n' "$ERR" | sed 's/^/    stderr: /'
  server_tail
}

# expect NAME RC STDOUT_RE STDERR MIN_MS MAX_MS -- ARGS...: run kubectl ARGS; its exit code must
# be RC, some line of its stdout must match the extended regex STDOUT_RE ("" checks nothing), its
# stderr must be exactly STDERR, and it must take MIN_MS..MAX_MS milliseconds.
expect() {
  local name=$1 rc=$2 out_re=$3 want=$4 min=$5 max=$6
  shift 7
  kc "$@"
  WHY=''
  rc_is "$rc" && out_line "$out_re" && text_is stderr "$ERR" "$want" && ms_within "$min" "$max"
  verdict "$name"
}

# out_line RE: some line of the last kc's stdout matches the extended regex RE ("" checks nothing).
out_line() {
  [ -z "$1" ] || grep -Eq -- "$1" "$DIR/out" || { WHY="no stdout line matches /$1/"; return 1; }
}

# poll NAME SECONDS OUT_RE -- ARGS...: run kubectl ARGS every 0.2 s until some stdout line matches
# OUT_RE (ok) or SECONDS pass (FAIL with the last output).
poll() {
  local name=$1 secs=$2 out_re=$3 t_end
  shift 4
  t_end=$(($(now_ms) + secs * 1000))
  while :; do
    kc "$@"
    if [ "$RC" = 0 ] && grep -Eq -- "$out_re" "$DIR/out"; then
      report "$name" 1 ''
      return 0
    fi
    if [ "$(now_ms)" -gt "$t_end" ]; then
      report "$name" 0 "no stdout line matched /$out_re/ within ${secs} s"
      return 1
    fi
    sleep 0.2
  done
}

# runner_pod NAME [SPEC...]: a pod shaped like the runner's (init-permissions, build, helper,
# optional services), written to $DIR/NAME.yaml. SPEC: extra spec lines (indented 2).
runner_pod() {
  local name=$1 svc=${2:-} extra=${3:-}
  {
    echo "apiVersion: v1"
    echo "kind: Pod"
    echo "metadata: {name: $name, namespace: default}"
    echo "spec:"
    echo "  restartPolicy: Never"
    [ -n "$extra" ] && echo "  $extra"
    echo "  initContainers: [{name: init-permissions, image: registry.gitlab.com/gitlab-org/gitlab-runner/gitlab-runner-helper:x86_64-latest}]"
    echo "  containers:"
    echo "  - {name: build, image: registry.example.com/build:nope}"
    echo "  - {name: helper, image: registry.gitlab.com/gitlab-org/gitlab-runner/gitlab-runner-helper:x86_64-latest}"
    [ -n "$svc" ] && echo "  - {name: svc-0, image: \"docker:dind\"}"
  } >"$DIR/$name.yaml"
}

# create NAME: kubectl create -f $DIR/NAME.yaml; a failure is reported.
create() {
  kc create -f "$DIR/$1.yaml"
  [ "$RC" = 0 ] || report "create-$1" 0 "kubectl create failed"
  [ "$RC" = 0 ]
}

faults_probe unschedulable

INSUFFICIENT='0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..'
SHUTDOWN='Pod was terminated in response to imminent node shutdown.'
re_quote() { printf '%s' "$1" | sed 's/[][\.^$*+?(){}|/]/\\&/g'; }

# ---- unschedulable (catalogue 1) ----
if selected unschedulable && start unschedulable; then
  runner_pod runner-1
  if create runner-1; then
    expect unschedulable-wait-ready 1 '' 'error: timed out waiting for the condition on pods/runner-1' \
      3000 $((3000 + FAST)) -- wait --for=condition=Ready pod/runner-1 --timeout=3s
    expect unschedulable-describe-event 0 \
      "^  Warning  FailedScheduling  [0-9]+s +default-scheduler  $(re_quote "$INSUFFICIENT")\$" '' \
      0 $FAST -- describe pod runner-1
    expect unschedulable-describe-node 0 '^Node: +<none>$' '' 0 $FAST -- describe pod runner-1
    expect unschedulable-condition 0 "^PodScheduled=False Unschedulable: $(re_quote "$INSUFFICIENT")\$" '' 0 $FAST \
      -- get pod runner-1 -o 'jsonpath={range .status.conditions[*]}{.type}={.status} {.reason}: {.message}{"\n"}{end}'
    expect unschedulable-get 0 '^runner-1 +0/2 +Pending +0 +[0-9]+s +<none> +<none> ' '' 0 $FAST \
      -- get pod runner-1 -o wide --no-headers
    expect unschedulable-events 0 "^[0-9]+s +Warning +FailedScheduling +pod/runner-1 +$(re_quote "$INSUFFICIENT")\$" '' \
      0 $FAST -- get events
  fi
  end
fi

# ---- a scheduling delay from a seeded distribution (2-4 s) ----
if selected schedule-delay && start schedule-delay; then
  runner_pod runner-9
  T0=$(now_ms)
  if create runner-9; then
    expect schedule-delay-not-yet 1 '' 'error: timed out waiting for the condition on pods/runner-9' \
      1000 $((1000 + FAST)) -- wait --for=condition=PodScheduled pod/runner-9 --timeout=1s
    expect schedule-delay-scheduled 0 '^pod/runner-9 condition met$' '' 0 $((4000 + FAST)) \
      -- wait --for=condition=PodScheduled pod/runner-9 --timeout=10s
    TOTAL=$(($(now_ms) - T0))
    if [ "$TOTAL" -ge 2000 ] && [ "$TOTAL" -le $((4000 + FAST)) ]; then
      report schedule-delay-within-2-4s 1 ''
    else
      report schedule-delay-within-2-4s 0 "scheduled after $TOTAL ms"
    fi
  fi
  end
fi

# ---- ImagePullBackOff ----
if selected image-pull-backoff && start image-pull-backoff; then
  runner_pod runner-2
  if create runner-2; then
    poll image-pull-backoff-status 5 '^runner-2 +1/2 +ImagePullBackOff +0 +' \
      -- get pod runner-2 --no-headers
    expect image-pull-backoff-describe-failed 0 \
      '^  Warning  Failed     [0-9]+s +kubelet +Error: ImagePullBackOff$' '' 0 $FAST -- describe pod runner-2
    expect image-pull-backoff-describe-backoff 0 \
      '^  Normal   BackOff    [0-9]+s +kubelet +Back-off pulling image "registry\.example\.com/build:nope"$' '' \
      0 $FAST -- describe pod runner-2
    expect image-pull-backoff-describe-reason 0 '^      Reason:       ImagePullBackOff$' '' 0 $FAST \
      -- describe pod runner-2
    expect image-pull-backoff-message 0 '^ImagePullBackOff: Back-off pulling image "registry\.example\.com/build:nope"$' '' \
      0 $FAST -- get pod runner-2 -o \
      'jsonpath={.status.containerStatuses[?(@.name=="build")].state.waiting.reason}: {.status.containerStatuses[?(@.name=="build")].state.waiting.message}'
    expect image-pull-backoff-wait-ready 1 '' 'error: timed out waiting for the condition on pods/runner-2' \
      2000 $((2000 + FAST)) -- wait --for=condition=Ready pod/runner-2 --timeout=2s
  fi
  end
fi

# ---- ErrImagePull for 3 s, then the pod runs ----
if selected err-image-pull && start err-image-pull-then-runs; then
  runner_pod runner-10
  T0=$(now_ms)
  if create runner-10; then
    poll err-image-pull-status 3 '^runner-10 +0/2 +ErrImagePull +0 +' -- get pod runner-10 --no-headers
    expect err-image-pull-then-ready 0 '^pod/runner-10 condition met$' '' 0 $((3000 + FAST)) \
      -- wait --for=condition=Ready pod/runner-10 --timeout=15s
    TOTAL=$(($(now_ms) - T0))
    if [ "$TOTAL" -ge 3000 ]; then report err-image-pull-not-before-3s 1 ''; else
      report err-image-pull-not-before-3s 0 "Ready after $TOTAL ms"
    fi
  fi
  end
fi

# ---- init-permissions cannot be created (catalogue 17) ----
if selected init-reserved && start init-reserved-name; then
  runner_pod runner-4
  if create runner-4; then
    poll init-reserved-status 5 '^runner-4 +0/2 +Init:CreateContainerError +0 +' -- get pod runner-4 --no-headers
    kc get pod runner-4 -o 'jsonpath={.metadata.uid}'
    UID_=$OUT
    N="init-permissions_runner-4_default_${UID_}_0"
    expect init-reserved-describe 0 \
      "^  Warning  Failed     [0-9]+s +kubelet +Error: failed to reserve container name \"$N\": name \"$N\" is reserved for \"4b6f0a3d9c2e8f17a5b6c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3\"\$" \
      '' 0 $FAST -- describe pod runner-4
    expect init-reserved-initialized 0 \
      '^Initialized=False ContainersNotInitialized: containers with incomplete status: \[init-permissions\]$' '' 0 $FAST \
      -- get pod runner-4 -o 'jsonpath={range .status.conditions[*]}{.type}={.status} {.reason}: {.message}{"\n"}{end}'
  fi
  end
fi

# ---- a Windows node (catalogue 10) ----
if selected windows && start windows-node; then
  runner_pod runner-3
  runner_pod runner-3l '' 'nodeSelector: {kubernetes.io/os: linux}'
  expect windows-node-listed 0 '^akswin000001 +Ready +<none> +[0-9]+s +v1\.32\.0 +10\.0\.0\.11 +<none> +Windows Server 2022 Datacenter ' \
    '' 0 $FAST -- get nodes -o wide --no-headers
  if create runner-3 && create runner-3l; then
    poll windows-container-creating 5 '^runner-3 +0/2 +Init:0/1 +0 +[0-9]+s +<none> +akswin000001 ' \
      -- get pod runner-3 -o wide --no-headers
    poll windows-failed-mount 5 \
      '^  Warning  FailedMount  [0-9]+s +kubelet +MountVolume\.SetUp failed for volume "kube-api-access-xxxxx" : chown c:\\var\\lib\\kubelet\\pods\\[0-9a-f-]{36}\\volumes\\kubernetes\.io~projected\\kube-api-access-xxxxx\\\.\.2024_01_01_00_00_00\.000000000\\token: not supported by windows$' \
      -- describe pod runner-3
    expect windows-linux-selector-ready 0 '^pod/runner-3l condition met$' '' 0 $FAST \
      -- wait --for=condition=Ready pod/runner-3l --timeout=10s
    expect windows-linux-selector-node 0 '^runner-3l +2/2 +Running +0 +[0-9]+s +10\.244\.0\.[0-9]+ +kubefault-node ' '' 0 $FAST \
      -- get pod runner-3l -o wide --no-headers
  fi
  end
fi

# ---- a dind service ready late (catalogue 8) ----
if selected dind && start dind-ready-after; then
  runner_pod runner-8 svc
  T0=$(now_ms)
  if create runner-8; then
    poll dind-running-not-ready 3 '^runner-8 +2/3 +Running +0 +' -- get pod runner-8 --no-headers
    expect dind-ready 0 '^pod/runner-8 condition met$' '' 0 $((4000 + FAST)) \
      -- wait --for=condition=Ready pod/runner-8 --timeout=15s
    TOTAL=$(($(now_ms) - T0))
    if [ "$TOTAL" -ge 4000 ]; then report dind-ready-not-before-4s 1 ''; else
      report dind-ready-not-before-4s 0 "Ready after $TOTAL ms"
    fi
    expect dind-all-ready 0 '^runner-8 +3/3 +Running +0 +' '' 0 $FAST -- get pod runner-8 --no-headers
  fi
  end
fi

# ---- CrashLoopBackOff ----
if selected crash-loop && start crash-loop; then
  runner_pod runner-6
  if create runner-6; then
    poll crash-loop-status 5 '^runner-6 +1/2 +CrashLoopBackOff +1 \([0-9]+s ago\) +' -- get pod runner-6 --no-headers
    expect crash-loop-describe 0 \
      '^  Warning  BackOff    [0-9]+s +kubelet +Back-off restarting failed container build in pod runner-6_default\([0-9a-f-]{36}\)$' \
      '' 0 $FAST -- describe pod runner-6
  fi
  end
fi

# ---- the node is terminated: DisruptionTarget, deletionTimestamp, 137, gone (catalogue 19) ----
if selected node-terminated && start node-terminated; then
  runner_pod runner-5
  if create runner-5; then
    expect node-terminated-running 0 '^pod/runner-5 condition met$' '' 0 $FAST \
      -- wait --for=condition=Ready pod/runner-5 --timeout=10s
    poll node-terminated-disruption-target 5 "^TerminationByKubelet: $(re_quote "$SHUTDOWN")\$" \
      -- get pod runner-5 -o 'jsonpath={.status.conditions[?(@.type=="DisruptionTarget")].reason}: {.status.conditions[?(@.type=="DisruptionTarget")].message}'
    expect node-terminated-deleted 0 '^pod/runner-5 condition met$' '' 0 $((1500 + FAST)) \
      -- wait --for=delete pod/runner-5 --timeout=15s
    expect node-terminated-404 1 '' 'Error from server (NotFound): pods "runner-5" not found' 0 $FAST \
      -- get pod runner-5
  fi
  end
fi

# ---- the node shuts down: the pod stays, Failed (catalogue 19) ----
if selected node-shutdown && start node-shutdown-failed; then
  runner_pod runner-7
  if create runner-7; then
    expect node-shutdown-failed 0 '^pod/runner-7 condition met$' '' 0 $((1000 + FAST)) \
      -- wait --for=jsonpath='{.status.phase}'=Failed pod/runner-7 --timeout=15s
    # kubectl's STATUS column takes the killed container's reason (Error) over the pod's
    expect node-shutdown-status 0 '^runner-7 +0/2 +Error +0 +' '' 0 $FAST -- get pod runner-7 --no-headers
    expect node-shutdown-reason 0 "^Failed Terminated: $(re_quote "$SHUTDOWN")\$" '' 0 $FAST \
      -- get pod runner-7 -o 'jsonpath={.status.phase} {.status.reason}: {.status.message}'
  fi
  end
fi

faults_summary
