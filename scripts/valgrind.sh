#!/usr/bin/env bash
# valgrind.sh -- the whole CTest suite once more, with every test program and every kubefault the
# tests start (servers, `kubefault run`, the reference job client it spawns, tune's trials) under
# valgrind's memcheck: --leak-check=full --error-exitcode=1.
#
#   bash scripts/valgrind.sh [BUILD_DIR] [CTEST ARGS...]      (default: build, the whole suite)
#   bash scripts/valgrind.sh build -R test_it_watch           (one test)
#
# How: CTest starts every test through tests/wrap.sh, and the scripts run tests/kubefault-under-test;
# both put $KF_TEST_WRAPPER in front of what they start. --trace-children follows our own programs
# (kubefault spawning `kubefault job`); what lives under /usr, /bin or /sbin (sh, python3, curl,
# kubectl) is not traced. Under the wrapper the test scripts give servers more
# time to start and stop (tests/cli/lib.sh, tests/kubectl/lib.sh) and tune's trials run in real time.
#
# A test fails when a program it ran exits 1 for a valgrind error. As a program's own exit status 1
# could hide that, every process writes its own log (-q: only errors) and any log that is not empty
# fails the run too; the logs are printed and kept. Uses the normal build: no rebuild.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
[ $# -eq 0 ] || shift
[ -f "$build/CTestTestfile.cmake" ] || {
  echo "valgrind.sh: no CTest build in $build (bash scripts/build.sh first)" >&2
  exit 2
}
command -v valgrind >/dev/null || {
  echo "valgrind.sh: valgrind is not installed (bash scripts/setup.sh installs it)" >&2
  exit 2
}

# every test's CTest TIMEOUT times 10 for this run, and back afterwards (tests/CMakeLists.txt)
cmake -S . -B "$build" -DKF_TEST_TIMEOUT_FACTOR=10 >/dev/null
trap 'cmake -S . -B "$build" -DKF_TEST_TIMEOUT_FACTOR=1 >/dev/null' EXIT
logs=$(mktemp -d "${TMPDIR:-/tmp}/kubefault-valgrind.XXXXXX")
export KF_TEST_WRAPPER="valgrind -q --leak-check=full --error-exitcode=1 --num-callers=30
  --trace-children=yes --trace-children-skip=/usr/*,/bin/*,/sbin/*
  --log-file=$logs/%p.log"
# tests mostly wait on timers and sockets, but valgrind's start-up is heavy: two at a time per core
jobs=$((2 * $(nproc)))
start=$(date +%s)
rc=0
ctest --test-dir "$build" --output-on-failure -j"$jobs" "$@" || rc=$?

bad=0
for f in "$logs"/*.log; do
  [ -s "$f" ] || continue
  bad=$((bad + 1))
  echo "---- valgrind: $f"
  head -n 80 "$f"
done
echo "valgrind: $(find "$logs" -name '*.log' | wc -l) processes checked in $(($(date +%s) - start)) s, $bad with errors"
if [ "$bad" -eq 0 ] && [ "$rc" -eq 0 ]; then
  rm -rf "$logs"
  exit 0
fi
echo "valgrind: logs kept in $logs" >&2
exit 1
