#!/usr/bin/env bash
# kubectl-tour.sh -- a walk through the fake with kubectl: build kubefault, start the
# fake API server, and walk a short kubectl session against it (curl when no kubectl is installed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BUILD_DIR=build bash scripts/build.sh >/dev/null

work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

./build/kubefault serve --kubeconfig "$work/kubeconfig" --start-delay 300 >"$work/out" 2>"$work/err" &
server_pid=$!
for _ in $(seq 1 100); do          # at most 10 s
  grep -q "listening on" "$work/out" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/err" >&2; exit 1; }
  sleep 0.1
done
grep -q "listening on" "$work/out" || { echo "kubectl-tour: kubefault did not start" >&2; exit 1; }
cat "$work/out"
url=$(sed -n 's/.* listening on \(.*\)$/\1/p' "$work/out")

kubectl_bin=
for k in /usr/lib/google-cloud-sdk/bin/kubectl.1.32 "$(command -v kubectl || true)"; do
  [ -n "$k" ] && [ -x "$k" ] && { kubectl_bin=$k; break; }
done

step() { printf '\n$ %s\n' "$*"; "$@" || echo "(exit $?)"; }

if [ -n "$kubectl_bin" ]; then
  export KUBECONFIG="$work/kubeconfig" KUBECACHEDIR="$work/cache"
  k() { "$kubectl_bin" "$@"; }
  step k version
  step k get nodes
  step k get namespaces
  step k run hello --image=busybox --restart=Never -- echo hello from kubefault
  step k wait --for=condition=Ready pod/hello --timeout=10s
  step k get pods -o wide
  step k logs hello
  step k exec hello -- echo exec over WebSocket or SPDY
  step k exec hello -- sh -c 'exit 3'
  step k get events --field-selector involvedObject.name=hello
  step k label pod hello tour=yes
  step k get pods -l tour=yes
  step k create secret generic demo --from-literal=password=s3cret
  step k auth can-i create pods
  step k delete pod hello
  step k get pods
else
  echo
  echo "kubectl-tour: no kubectl on this machine; showing the same API with curl"
  token=$(sed -n 's/^ *token: "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$work/kubeconfig")
  sed -n 's/^ *certificate-authority-data: "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$work/kubeconfig" | base64 -d >"$work/ca.crt"
  c() { printf '\n$ curl %s\n' "$*"; curl -sS --cacert "$work/ca.crt" -H "Authorization: Bearer $token" "$@"; echo; }
  c "$url/version"
  c "$url/api/v1/nodes"
  c -X POST -H 'Content-Type: application/json' "$url/api/v1/namespaces/default/pods" \
    -d '{"metadata":{"name":"hello"},"spec":{"containers":[{"name":"main","image":"busybox","command":["echo","hello from kubefault"]}]}}'
  sleep 1
  c "$url/api/v1/namespaces/default/pods/hello"
  c "$url/api/v1/namespaces/default/pods/hello/log"
  c -X DELETE "$url/api/v1/namespaces/default/pods/hello?gracePeriodSeconds=0"
fi
echo
echo "kubectl-tour: done"
