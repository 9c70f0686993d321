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
. "$(dirname "$0")/lib.sh"

KTIMEOUT=40      # bound on every kubectl call, in seconds (the slowest check takes about 11 s)
CHECK_SHUTDOWN=1 # a check fails when its server does not exit 0 on SIGTERM
faults_init faults "$@"
faults_probe http-status

FAST=5000 # ms: an answer that should come at once, with room for a slow machine
WARM_UP=1 # under valgrind, a TLS handshake before the checks time kubectl (lib.sh warm_up)
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
if selected wrong-content-type && start http-wrong-content-type wrong-content-type; then
  kc run p1 --image=busybox # a create: not matched, served normally
  if [ "$RC" = 0 ]; then
    expect wrong-content-type 1 "error: serializer for text/html doesn't exist" 0 $FAST \
      -- get pod p1
  else
    report wrong-content-type 0 "kubectl run p1 failed" run p1 --image=busybox
  fi
  end_checked wrong-content-type
fi

faults_summary
