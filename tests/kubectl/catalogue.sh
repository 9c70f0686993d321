#!/usr/bin/env bash
# catalogue.sh -- the failure catalogue's kubectl forms: `kubefault run --kubectl=KUBECTL
# --junit FILE scenarios/` with the oldest and the newest installed kubectl, run directly (never
# through the /usr/bin/kubectl dispatcher). Every scenario with a "kubectl" section must PASS, and
# at least MIN_RAN of them must have run (the others are SKIP, "no kubectl form"), so a suite that
# skips everything cannot pass; then one deliberately wrong kubectl expectation must fail, with a
# message that says what was expected and what kubectl printed.
#
#   tests/kubectl/catalogue.sh /path/to/kubefault
#
# Prints each run's table, `ok|FAIL <version> <check>` per check and, last, `N passed, M failed`.
# Exit 0 when M is 0, 1 otherwise, 77 (skip) when no kubectl is installed.
#
# Environment: KUBECTL_DIR (default /usr/lib/google-cloud-sdk/bin), KUBECTL_VERSIONS (e.g. "1.27
# 1.33"; default: the oldest and the newest kubectl.1.* found there; without any, the kubectl in
# PATH), KUBECTL_KEEP=1 (keep the work directory, the reports and the evidence, and print its
# path). Bounds: each scenario --timeout 1m, each run 5 min (SIGTERM, then SIGKILL 10 s later).
set -u
. "$(dirname "$0")/lib.sh"

MIN_RAN=21                  # the catalogue's kubectl forms (grep -l '"kubectl":' scenarios/*.json)
SCENARIO_TIMEOUT=1m         # per scenario (kubefault run --timeout)
RUN_TIMEOUT=300             # per kubefault run, in seconds
KUBECTL_DIR=${KUBECTL_DIR:-/usr/lib/google-cloud-sdk/bin}

kubefault_arg "$@"
KUBEFAULT=$(cd "$(dirname "$KUBEFAULT")" && pwd)/$(basename "$KUBEFAULT")
HERE=$(cd "$(dirname "$0")" && pwd)
SCENARIOS=$(cd "$HERE/../../scenarios" && pwd)

# ---------------------------------------------------------------------------------------------------
# Which kubectl: KUBECTL_VERSIONS, else the oldest and the newest under KUBECTL_DIR, else PATH's.
kubectls=()
if [ -n "${KUBECTL_VERSIONS:-}" ]; then
  for v in $KUBECTL_VERSIONS; do kubectls+=("$KUBECTL_DIR/kubectl.$v"); done
else
  found=()
  for bin in "$KUBECTL_DIR"/kubectl.1.*; do
    [ -x "$bin" ] && [[ ${bin##*/kubectl.} =~ ^1\.[0-9]+$ ]] && found+=("${bin##*/kubectl.}")
  done
  if [ ${#found[@]} -gt 0 ]; then
    mapfile -t found < <(printf '%s\n' "${found[@]}" | sort -t. -k1,1n -k2,2n)
    kubectls+=("$KUBECTL_DIR/kubectl.${found[0]}")
    [ ${#found[@]} -gt 1 ] && kubectls+=("$KUBECTL_DIR/kubectl.${found[-1]}")
  elif command -v kubectl >/dev/null 2>&1; then
    kubectls+=("$(command -v kubectl)")
  fi
fi
if [ ${#kubectls[@]} -eq 0 ]; then
  echo "SKIP: no kubectl installed (no kubectl.1.* under $KUBECTL_DIR, no kubectl in PATH)"
  exit 77
fi
for k in "${kubectls[@]}"; do
  if [ ! -x "$k" ]; then
    echo "SKIP: no kubectl at $k"
    exit 77
  fi
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kubefault-kubectl-catalogue.XXXXXX")
cleanup() {
  if [ "${KUBECTL_KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
export TMPDIR=$WORK NO_COLOR=1 COLUMNS=160 # evidence of failures lands in WORK

PASSED=0 FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok   $1"; }
bad() { FAILED=$((FAILED + 1)); echo "FAIL $1"; }

# kfrun NAME ARGS...: kubefault run ARGS, bounded; its table in $WORK/NAME.out, its progress lines
# in $WORK/NAME.err, its exit status in RC and its duration in SECONDS_TAKEN
kfrun() {
  local name=$1 t0
  shift
  t0=$(date +%s)
  timeout -k 10 "$RUN_TIMEOUT" "$KUBEFAULT" run "$@" </dev/null >"$WORK/$name.out" 2>"$WORK/$name.err"
  RC=$?
  SECONDS_TAKEN=$(($(date +%s) - t0))
}

# summary_count FILE WORD: N from the table's summary line ("... 21 passed, 0 failed, 0 errors, 28
# skipped"); 0 when the line has no such count
summary_count() {
  sed -n "s/^[0-9]* scenarios\\{0,1\\} in .*[:,] \\([0-9]*\\) $2.*/\\1/p" "$1" | tail -n 1 | grep . || echo 0
}

# ---------------------------------------------------------------------------------------------------
# The catalogue, once per kubectl.
started=$(date +%s)
for k in "${kubectls[@]}"; do
  v=${k##*/}
  kfrun "$v" --kubectl="$k" --timeout "$SCENARIO_TIMEOUT" --junit "$WORK/$v.xml" "$SCENARIOS"
  echo "--- $v: kubefault run --kubectl=$k scenarios/ (exit status $RC in $SECONDS_TAKEN s)"
  cat "$WORK/$v.out"
  if [ "$RC" = 0 ]; then ok "$v every kubectl form passed (exit status 0)"; else
    bad "$v kubefault run exited $RC (0: every kubectl form passed)"
    grep -E ': (FAIL|ERROR) ' "$WORK/$v.err" | sed 's/^/    /'
  fi
  if grep -Eq '[[:space:]](FAIL|ERROR)$' "$WORK/$v.out"; then
    bad "$v some rows are not PASS or SKIP"
  else
    ok "$v no row is FAIL or ERROR"
  fi
  passed=$(summary_count "$WORK/$v.out" passed)
  if [ "$passed" -ge "$MIN_RAN" ]; then ok "$v $passed kubectl forms ran and passed (at least $MIN_RAN)"; else
    bad "$v only $passed kubectl forms ran and passed, expected at least $MIN_RAN"
  fi
  # the JUnit report says the same: testcases that are not <skipped/>, and no failure or error
  if [ ! -s "$WORK/$v.xml" ]; then
    bad "$v no JUnit report written"
  else
    cases=$(grep -c '<testcase ' "$WORK/$v.xml")
    skips=$(grep -c '<skipped ' "$WORK/$v.xml")
    if [ $((cases - skips)) -ge "$MIN_RAN" ] &&
      grep -q '<testsuite [^>]*failures="0" errors="0" skipped="'"$skips"'"' "$WORK/$v.xml"; then
      ok "$v JUnit: $((cases - skips)) of $cases testcases ran, no failures or errors"
    else
      bad "$v JUnit: $((cases - skips)) of $cases testcases ran (at least $MIN_RAN expected), or it counts failures:"
      grep -o '<testsuite [^>]*>' "$WORK/$v.xml" | sed 's/^/    /'
    fi
  fi
done

# ---------------------------------------------------------------------------------------------------
# A deliberately wrong kubectl expectation (kubectl's words, misspelt) fails with a clear message.
k=${kubectls[-1]}
v=${k##*/}
mkdir -p "$WORK/wrong"
sed 's/"Error from server: context deadline exceeded"/"Error from server: context deadline exceded"/' \
  "$SCENARIOS/context-deadline-exceeded.json" >"$WORK/wrong/context-deadline-exceeded.json"
kfrun wrong --kubectl="$k" --timeout "$SCENARIO_TIMEOUT" "$WORK/wrong/context-deadline-exceeded.json"
want='  kubectl.expect.outputContains "Error from server: context deadline exceded": not found in the output (45 bytes; last line: "Error from server: context deadline exceeded")'
if [ "$RC" = 1 ] && grep -Eq '^context-deadline-exceeded +.* FAIL$' "$WORK/wrong.out" &&
  grep -qxF -- "$want" "$WORK/wrong.out"; then
  ok "$v a wrong kubectl expectation fails (exit 1) and says what kubectl printed instead"
else
  bad "$v a wrong kubectl expectation: exit status $RC (1 expected), and the table should hold:"
  echo "$want"
  sed 's/^/    /' "$WORK/wrong.out"
fi

echo "catalogue with ${#kubectls[@]} kubectl version(s) in $(($(date +%s) - started)) s"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
