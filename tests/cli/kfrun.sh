#!/usr/bin/env bash
# kfrun.sh -- tests `kubefault run` and `kubefault list` through the built binary: a deliberately
# wrong expectation fails with a clear message and exit 1, passing scenarios with `-- true`, a curl
# command and kubectl (skipped when none is installed), the environment the command gets, JUnit
# (read back by xmllint or Python's XML parser) and JSON reports, evidence folders, a directory
# argument, timeouts (SIGTERM, then SIGKILL), leftovers killed, usage errors, --kubectl (its forms,
# skips and their reports, a wrong kubectl expectation). Every wait is bounded.
set -u
bin=${1:?usage: kfrun.sh /path/to/kubefault}
skip=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TMPDIR=$work/tmp NO_COLOR=
mkdir -p "$TMPDIR"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" # check

skipped() {
  skip=$((skip + 1))
  echo "skip $1"
}

# kf NAME ARGS...: run kubefault with ARGS (at most 60 s); stdout in $work/NAME.out, stderr in
# $work/NAME.err, exit status in $rc
kf() {
  local name=$1
  shift
  timeout 60 "$bin" "$@" >"$work/$name.out" 2>"$work/$name.err"
  rc=$?
}

has() { grep -qF -- "$2" "$work/$1"; }

# the kubectl to use: the one on PATH, or Google Cloud SDK's 1.32
kubectl=
if command -v kubectl >/dev/null 2>&1; then
  kubectl=$(command -v kubectl)
elif [ -x /usr/lib/google-cloud-sdk/bin/kubectl.1.32 ]; then
  kubectl=/usr/lib/google-cloud-sdk/bin/kubectl.1.32
fi

# an XML parser to read the JUnit report back
xml_ok() {
  if command -v xmllint >/dev/null 2>&1; then
    xmllint --noout "$1"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$1"
  else
    return 77
  fi
}

s=$work/s
mkdir -p "$s/dir/sub"

cat >"$s/wrong.json" <<'EOF'
// a deliberately wrong expectation: the command prints "hello", not the etcd error
{
  "name": "deliberately wrong",
  "anchor": "context-deadline-exceeded",
  "class": "wire",
  "expect": {"exitCode": 0, "outputContains": ["etcdserver: leader changed"]}
}
EOF
cat >"$s/true.json" <<'EOF'
{"name": "no expect section", "class": "cluster"}
EOF
cat >"$s/curl.json" <<'EOF'
{
  "name": "curl lists pods",
  "anchor": "curl-lists-pods",
  "class": "wire",
  "expect": {
    "exitCode": 0,
    "outputContains": ["\"kind\":\"PodList\""],
    "outputLacks": ["Unauthorized"],
    "durationMax": "30s",
    "journal": [
      {"name": "version", "match": {"verb": "other", "path": "/version"}, "count": 1, "before": "list"},
      {"name": "list", "match": {"verb": "list", "resource": "pods", "headers": {"User-Agent": "curl/*"}}, "count": 1},
      {"match": {"verb": "create"}, "count": 0}
    ]
  }
}
EOF
cat >"$s/env.json" <<'EOF'
{"name": "the environment", "expect": {"exitCode": 0, "outputContains": ["env ok"]}}
EOF
cat >"$s/etcd.json" <<'EOF'
{
  "name": "etcd leader changed, seen by kubectl",
  "anchor": "context-deadline-exceeded",
  "class": "wire",
  "rules": [{"name": "etcd-leader-changed", "match": {"verb": "create", "resource": "pods"},
             "trigger": {"first": 1}, "fault": {"type": "error", "name": "etcd-leader-changed"}}],
  "expect": {
    "exitCode": 1,
    "outputContains": ["Error from server: etcdserver: leader changed"],
    "journal": [
      {"name": "discovery", "match": {"verb": "other", "headers": {"User-Agent": "kubectl*"}}, "before": "create"},
      {"name": "create", "rule": "etcd-leader-changed", "fault": "error", "count": 1}
    ]
  }
}
EOF
cat >"$s/slow.json" <<'EOF'
{"name": "slow", "expect": {"exitCode": 0, "outputContains": ["started"]}}
EOF
echo '{"name": 7}' >"$s/invalid.json"
cp "$s/true.json" "$s/dir/b.json"
cp "$s/wrong.json" "$s/dir/a.json"
cp "$s/true.json" "$s/dir/README.json"
cp "$s/true.json" "$s/dir/sub/c.json"

# ---- usage ----
kf help run --help
check "run --help prints usage, exit 0" bash -c "[ $rc = 0 ] && grep -q 'usage: kubefault run SCENARIO' '$work/help.out'"
kf none run
check "run without a scenario exits 2" bash -c "[ $rc = 2 ] && grep -q 'no scenario given' '$work/none.err'"
kf badopt run "$s/true.json" --frob
check "an unknown option exits 2 and names it" bash -c "[ $rc = 2 ] && grep -q 'unknown option \"--frob\"' '$work/badopt.err'"
kf badto run "$s/true.json" --timeout 10 -- true
check "a timeout without a unit exits 2" bash -c "[ $rc = 2 ] && grep -q 'timeout \"10\": a duration needs a unit' '$work/badto.err'"
kf nocmd run "$s/true.json" --
check "\"--\" without a command exits 2" bash -c "[ $rc = 2 ]"

# ---- a deliberately wrong expectation ----
kf wrong run "$s/wrong.json" -- sh -c 'echo hello'
check "a wrong expectation exits 1" test "$rc" = 1
check "its row says FAIL" bash -c "grep -E '^wrong +.* FAIL$' '$work/wrong.out' >/dev/null"
check "the message says what was not found, in how much output, and the last line" \
  has wrong.out 'outputContains "etcdserver: leader changed": not found in the output (6 bytes; last line: "hello")'
check "the passing expectation is not listed as a failure" bash -c "! grep -q '  exitCode 0' '$work/wrong.out'"
check "the summary counts it" has wrong.out '1 scenario in '
check "the summary says 1 failed" has wrong.out ': 0 passed, 1 failed, 0 errors'
check "the progress line is not drawn when stderr is not a terminal" bash -c "! grep -q \$'\\r' '$work/wrong.err'"
check "no colours when stdout is not a terminal" bash -c "! grep -q \$'\\033' '$work/wrong.out'"
# the default evidence folder: $TMPDIR/kubefault-run-<timestamp>/<scenario>
ev=$(sed -n 's/^  evidence: //p' "$work/wrong.out")
check "evidence is kept under TMPDIR on failure" bash -c "case '$ev' in '$TMPDIR'/kubefault-run-*/wrong) true;; *) false;; esac"
check "evidence: output.txt holds the output" bash -c "[ \"\$(cat '$ev/output.txt')\" = hello ]"
check "evidence: journal.jsonl, result.json and the scenario" \
  bash -c "[ -f '$ev/journal.jsonl' ] && grep -q '\"result\":.*\"fail\"' '$ev/result.json' && cmp -s '$ev/wrong.json' '$s/wrong.json'"
check "the run's work directory is removed" bash -c "! ls -d '$TMPDIR'/kubefault-run-?????? 2>/dev/null | grep -q ."

# ---- passing scenarios ----
rm -rf "$TMPDIR"/kubefault-run-*
kf true run "$s/true.json" -- true
check "a scenario without expect passes on exit 0" bash -c "[ $rc = 0 ] && grep -Eq '^true +exit 0 \\(no \"expect\"\\) +exit 0 in .* PASS$' '$work/true.out'"
check "no evidence is kept when all pass" bash -c "! ls '$TMPDIR' | grep -q kubefault-run-"
kf false run "$s/true.json" -- false
check "a scenario without expect fails on exit 1, and says why" \
  bash -c "[ $rc = 1 ] && grep -q 'exitCode 0 (the default without \"expect\"): the command exited 1' '$work/false.out'"

kf curl run "$s/curl.json" -- sh -c 'curl -sS --max-time 10 --cacert "$KUBEFAULT_CA_FILE" -H "Authorization: Bearer $KUBEFAULT_TOKEN" "$KUBEFAULT_URL/version" >/dev/null && curl -sS --max-time 10 --cacert "$KUBEFAULT_CA_FILE" -H "Authorization: Bearer $KUBEFAULT_TOKEN" "$KUBEFAULT_URL/api/v1/namespaces/default/pods"'
check "curl over TLS with the token and CA passes its journal expectations" \
  bash -c "[ $rc = 0 ] && grep -Eq '^curl .* PASS$' '$work/curl.out'"

kf env run "$s/env.json" -- sh -c '
  test -s "$KUBECONFIG" && grep -q "server: \"$KUBEFAULT_URL\"" "$KUBECONFIG" &&
  case "$KUBEFAULT_URL" in https://127.0.0.1:*) ;; *) exit 1 ;; esac &&
  test -n "$KUBEFAULT_TOKEN" && grep -q "BEGIN CERTIFICATE" "$KUBEFAULT_CA_FILE" &&
  test "$KUBEFAULT_SCENARIO" = "'"$s/env.json"'" &&
  curl -sf --max-time 10 -H "Authorization: Bearer $KUBEFAULT_CONTROL_TOKEN" "$KUBEFAULT_CONTROL_URL/v1/status" >/dev/null &&
  test ! -t 0 && echo env ok'
check "the command gets KUBECONFIG, KUBEFAULT_URL/TOKEN/CA_FILE/SCENARIO and the control API" test "$rc" = 0
KUBEFAULT_TOKEN=stale kf plain run --plain-http "$s/env.json" -- sh -c '
  case "$KUBEFAULT_URL" in http://127.0.0.1:*) ;; *) exit 1 ;; esac &&
  test -z "${KUBEFAULT_TOKEN+set}" && test -z "${KUBEFAULT_CA_FILE+set}" &&
  curl -sf --max-time 10 "$KUBEFAULT_URL/api/v1/namespaces" >/dev/null && echo env ok'
check "--plain-http: an http URL, no token or CA (inherited ones dropped)" test "$rc" = 0

if [ -n "$kubectl" ]; then
  kf kubectl run "$s/etcd.json" -- "$kubectl" run p1 --image=busybox
  check "kubectl meets the etcd error and the scenario passes" \
    bash -c "[ $rc = 0 ] && grep -Eq '^etcd .* PASS$' '$work/kubectl.out'"
else
  skipped "kubectl meets the etcd error (no kubectl installed)"
fi

# ---- reports ----
kf reports run "$s/wrong.json" "$s/true.json" "$s/invalid.json" --junit "$work/r.xml" \
  --json "$work/r.json" --keep "$work/keep" -- sh -c 'printf "bell \a nul-free <&> \033[31mred\033[0m \377\n"'
check "an invalid scenario makes the exit status 2" test "$rc" = 2
check "the invalid scenario's error is shown" has reports.out 'name: expected a string, got number'
xml_ok "$work/r.xml"
x=$?
if [ $x = 77 ]; then
  skipped "the JUnit report parses (no xmllint or python3)"
else
  check "the JUnit report parses as XML" test $x = 0
fi
check "JUnit: one testsuite, three testcases" \
  bash -c "[ \$(grep -c '<testsuite ' '$work/r.xml') = 1 ] && [ \$(grep -c '<testcase ' '$work/r.xml') = 3 ]"
check "JUnit: classname is the class, name the anchor" \
  has r.xml '<testcase classname="wire" name="context-deadline-exceeded" file="'
check "JUnit: the failure carries the message" \
  has r.xml '<failure type="expectation" message="outputContains &quot;etcdserver: leader changed&quot;: not found in the output'
check "JUnit: the output is escaped (control bytes as \\xNN, colours dropped)" \
  has r.xml 'bell \x07 nul-free &lt;&amp;&gt; red '
check "JUnit: the invalid scenario is an error" has r.xml '<error type="error" message="'
if command -v python3 >/dev/null 2>&1; then
  check "the JSON report has every scenario and expectation" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = d["scenarios"]
assert d["summary"] == {"total": 3, "passed": 1, "failed": 1, "errors": 1, "skipped": 0}, d["summary"]
assert [x["result"] for x in s] == ["fail", "pass", "error"]
assert [e["result"] for e in s[0]["expectations"]] == ["pass", "fail"]
assert s[0]["expectations"][1]["kind"] == "outputContains"
assert s[0]["exit"]["code"] == 0 and s[0]["evidence"].endswith("/wrong")
' "$work/r.json"
else
  check "the JSON report has three scenarios" bash -c "[ \$(grep -c '\"file\":' '$work/r.json') = 3 ]"
fi
check "--keep keeps every scenario's evidence in DIR" \
  bash -c "[ -f '$work/keep/wrong/output.txt' ] && [ -f '$work/keep/true/result.json' ] && [ -f '$work/keep/invalid/invalid.json' ] && [ -f '$work/keep/true/journal.jsonl' ]"

# ---- a directory ----
kf dir run "$s/dir" -- true
check "a directory runs its *.json, sorted, not README or subdirectories" \
  bash -c "[ $rc = 1 ] && [ \"\$(sed -n '2,3s/ .*//p' '$work/dir.out' | tr '\n' ' ')\" = 'a b ' ] && grep -q '^2 scenarios' '$work/dir.out'"
mkdir -p "$s/empty"
kf empty run "$s/empty" -- true
check "a directory without scenarios is a usage error" \
  bash -c "[ $rc = 2 ] && grep -q 'no scenario files' '$work/empty.err'"

# ---- timeouts and leftovers ----
start=$(date +%s)
kf slow run --timeout 1s "$s/slow.json" -- sh -c 'echo started; exec sleep 30'
took=$(($(date +%s) - start))
check "a timeout kills the command with SIGTERM and fails it" \
  bash -c "[ $rc = 1 ] && grep -q 'timeout 1s: the command was still running after 1s; killed with SIGTERM$' '$work/slow.out' && [ $took -lt 10 ]"
start=$(date +%s)
kf stubborn run --timeout 500ms "$s/slow.json" -- sh -c 'trap "" TERM; echo started; sleep 30'
took=$(($(date +%s) - start))
check "a command ignoring SIGTERM gets SIGKILL 5 s later" \
  bash -c "[ $rc = 1 ] && grep -q 'killed with SIGTERM, then SIGKILL' '$work/stubborn.out' && [ $took -ge 5 ] && [ $took -lt 15 ]"
kf leftover run "$s/slow.json" -- sh -c 'sleep 313 & echo started'
left=$(pgrep -f 'sleep 31[3]') # the brackets keep pgrep from finding this very line
check "what the command leaves running is stopped" bash -c "[ $rc = 0 ] && [ -z '$left' ]"

# ---- the reference job client ----
# without a command, kubefault job runs the scenario's jobClient: a job that succeeds, and one whose
# pod never schedules within a scaled-down poll_timeout
cat >"$s/job-ok.json" <<'EOF'
{"name": "job-ok", "jobClient": {"job": {"image": "alpine:3.19", "script": ["make test"]}},
 "expect": {"exitCode": 0, "outputContains": ["Job succeeded"],
            "journal": [{"match": {"verb": "delete", "resource": "pods"}, "count": 1}]}}
EOF
cat >"$s/job-timeout.json" <<'EOF'
{"name": "job-timeout",
 "pods": [{"match": {"name": "runner-*"},
           "schedule": {"unschedulable": {"message": "0/3 nodes are available: 3 Insufficient cpu."}}}],
 "jobClient": {"kubernetes": {"poll_timeout": 2, "poll_interval": 1},
               "job": {"image": "alpine:3.19", "script": ["true"]}},
 "expect": {"exitCode": 1,
            "outputContains": ["timed out waiting for pod to start (last phase: Pending)",
                               "Unschedulable: \"0/3 nodes are available: 3 Insufficient cpu.\""]}}
EOF
kf ref run "$s/job-ok.json" "$s/job-timeout.json"
check "without a command: the reference job client runs each scenario's jobClient" \
  bash -c "[ $rc = 0 ] && grep -Eq '^job-ok .* PASS$' '$work/ref.out' && grep -Eq '^job-timeout .* PASS$' '$work/ref.out'"

# ---- --kubectl: each scenario's "kubectl" section, or SKIP ----
# the mechanism without a real kubectl: sh stands in for it, so a form's arguments are a script
# (the real kubectl runs the catalogue's forms in tests/kubectl/catalogue.sh)
mkdir -p "$s/kc"
cat >"$s/kc/a-form.json" <<'EOF'
{"name": "a kubectl form", "anchor": "kubectl-form", "class": "wire",
 "expect": {"exitCode": 7},
 "kubectl": {"args": ["-c", "echo \"args: $0 $1\"; echo \"cache: $KUBECACHEDIR\"; echo \"kc: $KUBECONFIG\"", "x", "y"],
             "expect": {"exitCode": 0, "outputContains": ["args: x y", "/kube-cache", "kc: /"]}}}
EOF
cat >"$s/kc/b-none.json" <<'EOF'
{"name": "no kubectl form", "anchor": "no-kubectl-form", "class": "cluster", "expect": {"exitCode": 0}}
EOF
cat >"$s/kc/c-wrong.json" <<'EOF'
// a deliberately wrong kubectl expectation: the stand-in prints the etcd error, the form misspells it
{"name": "wrong kubectl form", "anchor": "wrong-kubectl-form", "class": "wire",
 "kubectl": {"args": ["-c", "echo 'Error from server: etcdserver: leader changed'; exit 1"],
             "expect": {"exitCode": 1, "outputContains": ["Error from server: etcdserver: leader changd"]}}}
EOF
cat >"$s/kc/d-default.json" <<'EOF'
{"name": "kubectl form without expect", "kubectl": {"args": ["-c", "exit 3"]}}
EOF
kf kcskip run --kubectl=sh --junit "$work/kc.xml" --json "$work/kc.json" "$s/kc/a-form.json" "$s/kc/b-none.json"
check "--kubectl: a form runs and passes, a scenario without one is skipped, exit 0" \
  bash -c "[ $rc = 0 ] && grep -Eq '^a-form .* PASS$' '$work/kcskip.out' && grep -Eq '^b-none .* skipped: no kubectl form +SKIP$' '$work/kcskip.out'"
check "--kubectl: the summary counts the skipped scenario" \
  has kcskip.out '2 scenarios in '
check "--kubectl: ... 1 passed, 0 failed, 0 errors, 1 skipped" has kcskip.out ': 1 passed, 0 failed, 0 errors, 1 skipped'
check "--kubectl: the progress line says why it skipped" has kcskip.err '] b-none.json: SKIP (no kubectl form)'
check "JUnit: the skipped scenario has <skipped/> and the suite counts it" \
  bash -c "grep -q '<skipped message=\"no kubectl form\"/>' '$work/kc.xml' && grep -q 'tests=\"2\" failures=\"0\" errors=\"0\" skipped=\"1\"' '$work/kc.xml'"
xml_ok "$work/kc.xml"
case $? in
  0) check "JUnit with a skip parses as XML" true ;;
  77) skipped "JUnit with a skip parses as XML (no xmllint or python3)" ;;
  *) check "JUnit with a skip parses as XML" false ;;
esac
if command -v python3 >/dev/null 2>&1; then
  check "JSON: result skip with its reason, summary.skipped" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["summary"] == {"total": 2, "passed": 1, "failed": 0, "errors": 0, "skipped": 1}, d["summary"]
a, b = d["scenarios"]
assert a["result"] == "pass" and a["command"].startswith("sh -c "), a
assert b["result"] == "skip" and b["skipReason"] == "no kubectl form" and b["command"] is None, b
' "$work/kc.json"
else
  skipped "JSON: result skip with its reason, summary.skipped (no python3)"
fi
kf kcwrong run --kubectl=sh "$s/kc/c-wrong.json"
check "--kubectl: a wrong kubectl expectation exits 1" test "$rc" = 1
check "its row says FAIL" bash -c "grep -Eq '^c-wrong +.* FAIL$' '$work/kcwrong.out'"
check "its message names the kubectl section, what was not found and the last line" \
  has kcwrong.out '  kubectl.expect.outputContains "Error from server: etcdserver: leader changd": not found in the output (46 bytes; last line: "Error from server: etcdserver: leader changed")'
kf kcdefault run --kubectl=sh "$s/kc/d-default.json"
check "--kubectl: a form without expect expects exit 0, and says so" \
  bash -c "[ $rc = 1 ] && grep -qF 'kubectl.expect.exitCode 0 (the default without \"kubectl.expect\"): the command exited 3' '$work/kcdefault.out'"
kf kcmissing run --kubectl=/nonexistent/kubectl "$s/kc/a-form.json"
check "--kubectl=PATH that cannot run is an ERROR that names it" \
  bash -c "[ $rc = 1 ] && grep -q 'cannot run \"/nonexistent/kubectl\": No such file or directory' '$work/kcmissing.out'"
kf kcusage run --kubectl "$s/kc/a-form.json" -- true
check "--kubectl with a command after -- exits 2" \
  bash -c "[ $rc = 2 ] && grep -q 'give no command after' '$work/kcusage.err'"
kf kcempty run --kubectl= "$s/kc/a-form.json"
check "--kubectl= without a path exits 2" bash -c "[ $rc = 2 ] && grep -q 'needs a path' '$work/kcempty.err'"

# ---- list ----
kf list list "$s"
check "list: a table with each scenario's status" \
  bash -c "[ $rc = 0 ] && grep -Eq '^invalid .*invalid: name: expected a string, got number' '$work/list.out' && grep -Eq '^curl .*curl lists pods +wire +ok$' '$work/list.out'"
kf listjson list --json "$s/curl.json" "$s/invalid.json"
if command -v python3 >/dev/null 2>&1; then
  check "list --json" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert [x["status"] for x in d] == ["ok", "invalid"], d
assert d[0]["anchor"] == "curl-lists-pods" and d[0]["class"] == "wire"
assert d[1]["errors"][0].endswith("name: expected a string, got number")
' "$work/listjson.out"
fi
(cd "$work" && timeout 10 "$bin" list >/dev/null 2>"$work/nolist.err")
rc=$?
check "list without scenarios/ here says so (exit 2)" \
  bash -c "[ $rc = 2 ] && grep -q 'no scenarios/ directory here' '$work/nolist.err'"

# a scenario with a "gitlab" section: the fake GitLab beside the fake, its URL, runner token and a
# config.toml (parsed with Python's tomllib) in the environment, a 204 rule on jobs/request, the
# job handed out next, and "gitlab.jobs" and GitLab journal expectations checked
cat >"$work/gl.json" <<'JSON'
{"name": "gitlab side",
 "gitlab": {"jobs": [{"name": "test", "image": "alpine:3.20", "script": ["echo hi"], "timeout": "10m",
                      "variables": {"A": "1"}}], "longPoll": "1s"},
 "rules": [{"name": "no-job", "match": {"server": "gitlab", "endpoint": "jobs/request"},
            "trigger": {"first": 1}, "fault": {"type": "gitlab-no-job"}}],
 "expect": {"outputContains": ["first 204", "then 201", "toml ok"],
            "gitlab": {"jobs": [{"name": "test", "state": "running"}]},
            "journal": [{"match": {"server": "gitlab", "endpoint": "jobs/request"}, "count": 2},
                        {"rule": "no-job", "count": 1}]}}
JSON
cat >"$work/gl.sh" <<'SH'
req() { curl -s -m 10 -o /dev/null -w '%{http_code}' --cacert "$KUBEFAULT_CA_FILE" -X POST \
  -H "Content-Type: application/json" -d "{\"token\":\"$KUBEFAULT_GITLAB_TOKEN\"}" \
  "${KUBEFAULT_GITLAB_URL}api/v4/jobs/request"; }
echo "first $(req)"
echo "then $(req)"
python3 - "$KUBEFAULT_RUNNER_CONFIG" <<'PY' && echo "toml ok"
import os, sys, tomllib
c = tomllib.load(open(sys.argv[1], "rb"))
r = c["runners"][0]
assert c["concurrent"] == 1 and c["check_interval"] == 1, c
assert r["url"] == os.environ["KUBEFAULT_GITLAB_URL"] and r["token"] == os.environ["KUBEFAULT_GITLAB_TOKEN"], r
assert r["executor"] == "kubernetes" and r["tls-ca-file"] == os.environ["KUBEFAULT_CA_FILE"], r
k = r["kubernetes"]
assert k["host"] == os.environ["KUBEFAULT_URL"] and k["bearer_token"] == os.environ["KUBEFAULT_TOKEN"], k
assert k["ca_file"] == os.environ["KUBEFAULT_CA_FILE"] and k["namespace"] == "default", k
PY
SH
if command -v curl >/dev/null 2>&1 && python3 -c 'import tomllib' 2>/dev/null; then
  kf gl run "$work/gl.json" -- bash "$work/gl.sh"
  check "run: a gitlab section gets the fake GitLab, its env and a config.toml" \
    bash -c "[ $rc = 0 ] && grep -q PASS '$work/gl.out'"
  sed 's/"state": "running"/"state": "success"/' "$work/gl.json" >"$work/glbad.json"
  kf glbad run "$work/glbad.json" -- bash "$work/gl.sh"
  check "run: a wrong gitlab.jobs expectation fails (exit 1) and says why" \
    bash -c "[ $rc = 1 ] && grep -q 'the job is running, expected success' '$work/glbad.out'"
else
  skipped "gitlab section (needs curl and python3's tomllib)"
fi

# the GitLab examples end to end with the reference job client in GitLab mode: a trace PATCH
# answered 500 once (resent, the job succeeds), jobs/request held 1.5 s by a delay rule, the GitLab
# port refusing connections for 3 s
examples=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../scenarios/examples" && pwd)
kf glex run "$examples/gitlab-trace-rejected-once.json" "$examples/gitlab-slow-jobs-request.json" \
  "$examples/gitlab-refused-then-back.json"
check "run: the GitLab examples pass with the reference job client" \
  bash -c "[ $rc = 0 ] && grep -q '3 passed, 0 failed' '$work/glex.out'"

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
