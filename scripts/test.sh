#!/usr/bin/env bash
# test.sh -- the README's test command: install what is needed, build, run every test (unit,
# integration, the kubectl matrix, the fuzz targets' corpora), then the whole suite again under
# ASan+UBSan and once more under valgrind (scripts/valgrind.sh), and each libFuzzer target for
# KF_FUZZ_TIME seconds (default 60; scripts/fuzz.sh).
#
# The fuzzers run in the background at nice 19 while the normal and sanitizer passes run: those
# tests mostly wait on timers and sockets, so the fuzzers get the idle CPU and the tests lose
# nothing (the scheduler gives a nice-19 process about 1/70 of a core against a busy nice-0 one).
# Their table is printed when they are done, before the valgrind pass.
# KF_SKIP_SANITIZE=1, KF_SKIP_VALGRIND=1 and KF_SKIP_FUZZ=1 skip those stages (quicker local runs);
# CI sets none of them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)
t0=$(date +%s)
stage() { echo "== [$(($(date +%s) - t0)) s] $*"; }

stage "format (clang-format, .clang-format)"
unformatted=$(git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror 2>&1 | grep -c 'error:' || true)
if [ "$unformatted" != 0 ]; then
  git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror 2>&1 | head -n 20
  echo "format: $unformatted places differ from .clang-format (fix: clang-format -i FILE)" >&2
  exit 1
fi

stage "build (warnings are errors)"
BUILD_DIR=build bash scripts/build.sh -DKF_WERROR=ON -DKF_SANITIZE=OFF

fuzz_pid=
fuzz_log=$(mktemp "${TMPDIR:-/tmp}/kubefault-fuzz.XXXXXX")
if [ "${KF_SKIP_FUZZ:-0}" != 1 ]; then
  stage "fuzzing starts in the background (libFuzzer, ASan+UBSan, nice 19; log: $fuzz_log)"
  nice -n 19 bash scripts/fuzz.sh --time "${KF_FUZZ_TIME:-60}" >"$fuzz_log" 2>&1 &
  fuzz_pid=$!
fi
# a failing stage below must not leave the fuzzers running
trap '[ -z "$fuzz_pid" ] || kill "$fuzz_pid" 2>/dev/null || true' EXIT

stage "tests"
ctest --test-dir build --output-on-failure -j"$((2 * jobs))"

if [ "${KF_SKIP_SANITIZE:-0}" != 1 ]; then
  stage "sanitizer build (ASan+UBSan) and tests"
  BUILD_DIR=build-asan BUILD_TYPE=Debug bash scripts/build.sh -DKF_WERROR=ON -DKF_SANITIZE=ON
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$((2 * jobs))"
fi

if [ -n "$fuzz_pid" ]; then
  stage "fuzzing: waiting for the fuzzers"
  rc=0
  wait "$fuzz_pid" || rc=$?
  fuzz_pid=
  cat "$fuzz_log"
  rm -f "$fuzz_log"
  [ "$rc" = 0 ] || { echo "fuzzing found something or failed (exit $rc): see above" >&2; exit 1; }
fi

if [ "${KF_SKIP_VALGRIND:-0}" != 1 ]; then
  stage "valgrind (memcheck, --leak-check=full) over the whole suite, on the normal build"
  bash scripts/valgrind.sh build
fi
stage "all tests passed"
