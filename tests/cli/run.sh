#!/usr/bin/env bash
# run.sh -- tests the kubefault command line: --help, --version, usage errors, serve's start-up
# lines, the kubeconfig it writes, and a clean shutdown on SIGTERM and SIGINT. Every wait is bounded.
set -u
bin=${1:?usage: run.sh /path/to/kubefault}
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" # check

# start_server OUT ARGS...: start serve in the background; wait (at most 10 s: lib.sh) for its banner
start_server() {
  local out=$1
  shift
  "$bin" serve "$@" >"$out" 2>"$out.err" &
  pid=$!
  for _ in $(seq 1 "$TRIES"); do
    grep -q "listening on" "$out" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# stop_server SIGNAL: send it, wait at most 10 s (lib.sh), and require exit status 0
stop_server() {
  kill -s "$1" "$pid"
  for _ in $(seq 1 "$TRIES"); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid"
    pid=
    return 1
  fi
  wait "$pid"
  local rc=$?
  pid=
  return $rc
}

check "--help prints usage and exits 0" bash -c "'$bin' --help | grep -q 'usage: kubefault serve'"
check "--version prints the version" bash -c "'$bin' --version | grep -Eq '^kubefault [0-9]+\.[0-9]+\.[0-9]+$'"
check "no arguments exits 2" bash -c "'$bin' >/dev/null 2>&1; [ \$? -eq 2 ]"
check "unknown command exits 2 and says so" \
  bash -c "'$bin' frobnicate 2>&1 >/dev/null | grep -q 'unknown command \"frobnicate\"'; [ \${PIPESTATUS[0]} -eq 2 ]"
check "unknown option exits 2 and says so" \
  bash -c "'$bin' serve --nope 2>&1 | grep -q 'unknown option \"--nope\"'"
check "bad port exits 2" bash -c "'$bin' serve --port 70000 >/dev/null 2>&1; [ \$? -eq 2 ]"
check "bad version is refused (exit 2)" \
  bash -c "'$bin' serve --kube-version 2.0 --kubeconfig '$work/x' 2>&1 | grep -q 'bad Kubernetes version \"2.0\"'; [ \${PIPESTATUS[0]} -eq 2 ]"

# TLS serve with an explicit kubeconfig
if start_server "$work/out" --kubeconfig "$work/kc" --kube-version 1.29; then
  check "serve prints an https URL on 127.0.0.1" grep -Eq 'listening on https://127\.0\.0\.1:[0-9]+$' "$work/out"
  check "serve prints the kubeconfig path" grep -qx "kubeconfig: $work/kc" "$work/out"
  check "kubeconfig has CA data and a token" \
    bash -c "grep -q certificate-authority-data '$work/kc' && grep -q 'token:' '$work/kc'"
  check "kubeconfig is private (0600)" bash -c "[ \"\$(stat -c %a '$work/kc')\" = 600 ]"
  url=$(sed -n 's/.* listening on \(.*\)$/\1/p' "$work/out")
  sed -n 's/^ *certificate-authority-data: "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$work/kc" | base64 -d >"$work/ca.crt"
  token=$(sed -n 's/^ *token: "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$work/kc")
  check "/version reports the chosen minor over verified TLS" \
    bash -c "curl -sS --max-time 5 --cacert '$work/ca.crt' '$url/version' | grep -q '\"minor\":\"29\"'"
  check "the token is required" \
    bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert '$work/ca.crt' '$url/api/v1/pods')\" = 401 ]"
  check "the token is accepted" \
    bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert '$work/ca.crt' -H 'Authorization: Bearer $token' '$url/api/v1/pods')\" = 200 ]"
  check "the CA is written beside the kubeconfig and verifies the server" \
    bash -c "curl -sS --max-time 5 --cacert '$work/kc.ca.crt' '$url/version' | grep -q gitVersion"
  check "serve prints a GitLab Runner host/bearer_token/ca_file line" \
    grep -q "host = \"$url\", bearer_token = \"$token\", ca_file = \"$work/kc.ca.crt\"" "$work/out"
  check "SIGTERM shuts down cleanly (exit 0)" stop_server TERM
else
  check "serve starts" false
fi

# plain HTTP with the default kubeconfig path, stopped by SIGINT
if start_server "$work/out2" --plain-http; then
  kc=$(sed -n 's/^kubeconfig: //p' "$work/out2")
  check "default kubeconfig is written" test -s "$kc"
  url=$(sed -n 's/.* listening on \(.*\)$/\1/p' "$work/out2")
  check "plain HTTP needs no token" \
    bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 '$url/api/v1/namespaces')\" = 200 ]"
  check "SIGINT shuts down cleanly (exit 0)" stop_server INT
  check "the default kubeconfig directory is removed at exit" test ! -e "$kc"
else
  check "serve --plain-http starts" false
fi

# a port in use is a clear error
if start_server "$work/out3" --plain-http; then
  port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$work/out3" | head -n1)
  check "a port in use is refused with a message" \
    bash -c "'$bin' serve --plain-http --port $port 2>&1 | grep -q 'cannot listen on 127.0.0.1:$port'"
  stop_server TERM >/dev/null
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
