#!/usr/bin/env bash
# tune.sh -- tests `kubefault tune` through the built binary: the table a fixed delay must give
# (worked out from the runner's poll loop, not read back from kubefault), the same table twice
# for the same seed and another for another seed, the same table with the trials run in real time
# (--time-scale 1) as time-scaled, the JSON report against the table, trials that neither start
# nor time out, and usage errors. Every run is bounded by timeout(1).
set -u
bin=${1:?usage: tune.sh /path/to/kubefault}
here=$(cd "$(dirname "$0")/.." && pwd)
scen=$here/scenarios/tune
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export TMPDIR=$work NO_COLOR=1

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" # check

# Under a slow wrapper (KF_TEST_WRAPPER: scripts/valgrind.sh runs every process many times slower)
# the trials run in real time and fewer at once (a test's own --time-scale/--jobs come later and
# win), and only what does not rest on timing is checked (section 1).
slow=()
[ -z "${KF_TEST_WRAPPER:-}" ] || slow=(--time-scale 1 --jobs 6)

# tune NAME ARGS...: stdout in $work/NAME.out, stderr in $work/NAME.err, exit status in $rc
tune() {
  local name=$1
  shift
  timeout 600 "$bin" tune "${slow[@]}" "$@" >"$work/$name.out" 2>"$work/$name.err"
  rc=$?
}

has() { grep -qF -- "$2" "$work/$1.out" || { echo "  $1.out lacks: $2"; sed 's/^/  | /' "$work/$1.out" "$work/$1.err"; return 1; }; }
has_err() { grep -qF -- "$2" "$work/$1.err" || { echo "  $1.err lacks: $2"; sed 's/^/  | /' "$work/$1.err"; return 1; }; }
row() { # row NAME VALUE TIMED_OUT SHARE LOST MEAN P95: that table row, columns squeezed
  local got
  got=$(grep -E "^$2s " "$work/$1.out" | tr -s ' ' | sed 's/ $//')
  [ "$got" = "$2s $3 $4 $5 $6 $7" ] || { echo "  row $2s: got \"$got\", want \"$2s $3 $4 $5 $6 $7\""; return 1; }
}

# 1. A fixed 10 s delay, poll_interval 1 s. The runner polls at 0, 1, ... s and first sees the
# pod at the 10th poll. poll_timeout 5 s: 5/1 + 1 = 6 polls, then "timed out", 6 s lost per job.
# poll_timeout 9 s: 10 polls (0..9 s), the pod is not seen: timed out after 10 s. 10 s: seen at
# the 11th GET (t = 10 s) after 10 "Waiting" lines: started, waited 10 s.
if [ ${#slow[@]} -gt 0 ]; then
  # Under a slow wrapper the rows rest on timing valgrind does not keep (a poll that comes late is
  # a slip): the valgrind pass checks that tune runs its trials and prints its table, and its memory.
  tune fixed "$scen/fixed-10s.json" --poll-timeout 5,10 --trials 2 --json "$work/fixed.json"
  check "fixed (KF_TEST_WRAPPER): ran (exit 0 or 1)" test "$rc" -le 1
  check "fixed (KF_TEST_WRAPPER): a row per value" bash -c "[ \$(grep -cE '^(5|10)s ' '$work/fixed.out') = 2 ]"
  check "fixed (KF_TEST_WRAPPER): JSON written" test -s "$work/fixed.json"
  check "fixed (KF_TEST_WRAPPER): wall time on stderr" has_err fixed "kubefault tune: 4 trials in "
  echo "skip the rows' values, determinism, real time against time-scaled (KF_TEST_WRAPPER: timing; the other passes check them)"
else
tune fixed "$scen/fixed-10s.json" --poll-timeout 5,9,10,15 --trials 3
check "fixed: exit 0 (10s meets the target)" test "$rc" = 0
check "fixed: 5s row" row fixed 5 3/3 100.0% 18s - -
check "fixed: 9s row" row fixed 9 3/3 100.0% 30s - -
check "fixed: 10s row" row fixed 10 0/3 0.0% 0s 10s 10s
check "fixed: 15s row" row fixed 15 0/3 0.0% 0s 10s 10s
check "fixed: recommendation" has fixed "smallest poll_timeout with at most 1% timed out: 10s"
check "fixed: no warning" bash -c "! grep -q warning '$work/fixed.out'"
check "fixed: wall time on stderr" has_err fixed "kubefault tune: 12 trials in "

# 2. Determinism: the same seed prints the same bytes; another seed draws other delays.
tune u1 "$scen/uniform.json" --poll-timeout 3,5,8 --trials 8 --json "$work/u1.json"
rc1=$rc
tune u2 "$scen/uniform.json" --poll-timeout 3,5,8 --trials 8 --jobs 3
check "uniform: ran (exit 0 or 1)" test "$rc1" -le 1 -a "$rc" -le 1
check "uniform: same seed, same table" cmp -s "$work/u1.out" "$work/u2.out"
tune u3 "$scen/uniform.json" --poll-timeout 3,5,8 --trials 8 --seed 12345
check "uniform: --seed draws other delays" bash -c "! cmp -s '$work/u1.out' '$work/u3.out'"
check "uniform: --seed is shown" has u3 "seed 12345"
check "uniform: 8s never times out (delays are at most 8s)" grep -qE '^8s +0/8 ' "$work/u1.out"

# the JSON report says what the table says, trial by trial
check "uniform: JSON agrees with the table" python3 - "$work/u1.json" "$work/u1.out" <<'EOF'
import json, re, sys
r = json.load(open(sys.argv[1]))
table = open(sys.argv[2]).read()
assert r["trials"] == 8 and len(r["delaysMs"]) == 8, r
assert all(0 <= d <= 8000 for d in r["delaysMs"]), r["delaysMs"]
for row in r["pollTimeouts"]:
    T, I = row["pollTimeoutSeconds"], r["pollIntervalSeconds"]
    attempts = T // I
    timed = 0
    for t, d in zip(row["trials"], r["delaysMs"]):
        assert t["delayMs"] == d
        k = max(1, -(-d // (I * 1000)))
        want = ("started", k) if k <= attempts else ("timed out", attempts + 1)
        assert (t["outcome"], t["polls"]) == want, (T, t, want)
        timed += t["outcome"] == "timed out"
    assert row["timedOut"] == timed and row["slipped"] == 0 and row["other"] == 0, row
    m = re.search(r"^%ds +(\d+)/8 " % T, table, re.M)
    assert m and int(m.group(1)) == timed, (T, timed)
EOF

# 3. Time-scaled trials give what real-time ones give (the scale changes nothing but the clock):
# three trials at --time-scale 1 (each waits up to 4 s of real time) against the default scale.
tune real "$scen/uniform.json" --poll-timeout 2,4 --trials 3 --time-scale 1 --seed 5
tune fast "$scen/uniform.json" --poll-timeout 2,4 --trials 3 --seed 5
check "real time: ran" test "$rc" -le 1
check "real time: same table as time-scaled" bash -c "diff <(grep -v '^poll_interval:' '$work/real.out') <(grep -v '^poll_interval:' '$work/fast.out')"
check "real time: scale 1 shown" has real "time scale 1x: one poll_interval lasts 1s"

fi

# 4. Trials that neither start nor time out are reported, not counted as either
tune pull "$scen/image-pull.json" --poll-timeout 5 --trials 2 --keep "$work/kept"
check "image pull: exit 1" test "$rc" = 1
check "image pull: warning with the runner's error" has pull "warning: poll_timeout 5s: 2 trials neither started nor timed out (first: ERROR: Job failed"
check "image pull: no recommendation" has pull "no poll_timeout tried has at most 1% timed out"
check "image pull: output kept" test -s "$work/kept/trial-0-1.log"

# 5. Usage errors: exit 2 and a message that says what is wrong
tune nodelay "$scen/no-delay.json" --poll-timeout 5
check "no schedule.delay: exit 2" test "$rc" = 2
check "no schedule.delay: message" has_err nodelay "no pods[].schedule.delay to draw scheduling delays from"
tune noval "$scen/fixed-10s.json"
check "no --poll-timeout: exit 2" test "$rc" = 2
check "no --poll-timeout: message" has_err noval "--poll-timeout is required"
tune badval "$scen/fixed-10s.json" --poll-timeout 30,x
check "bad --poll-timeout: message" has_err badval "--poll-timeout takes seconds from 1 to 604800, comma-separated (got \"30,x\")"
tune twice "$scen/fixed-10s.json" --poll-timeout 30,30
check "value twice: message" has_err twice "--poll-timeout: 30 is given twice"
tune badtarget "$scen/fixed-10s.json" --poll-timeout 30 --target 150%
check "target above 100%: message" has_err badtarget "--target \"150%\" is above 100%"
tune missing "$work/nope.json" --poll-timeout 30
check "missing file: exit 2" test "$rc" = 2
check "missing file: message" has_err missing "nope.json"
tune help --help
check "help: exit 0" test "$rc" = 0
check "help: usage" has help "usage: kubefault tune SCENARIO --poll-timeout"

echo "tune: $pass passed, $fail failed"
[ "$fail" = 0 ]
