#!/usr/bin/env bash
# test.sh -- the README's test command: install what is needed, build, run every test (unit,
# integration, the kubectl matrix), then the whole suite again under ASan+UBSan, once more under
# valgrind (scripts/valgrind.sh), then each libFuzzer target for KF_FUZZ_TIME seconds (default 60;
# scripts/fuzz.sh).
# KF_SKIP_SANITIZE=1, KF_SKIP_VALGRIND=1 and KF_SKIP_FUZZ=1 skip those stages (quicker local runs);
# CI sets none of them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)

echo "== format (clang-format, .clang-format)"
unformatted=$(git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror 2>&1 | grep -c 'error:' || true)
if [ "$unformatted" != 0 ]; then
  git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror 2>&1 | head -n 20
  echo "format: $unformatted places differ from .clang-format (fix: clang-format -i FILE)" >&2
  exit 1
fi

echo "== build (warnings are errors)"
BUILD_DIR=build bash scripts/build.sh -DKF_WERROR=ON -DKF_SANITIZE=OFF
echo "== tests"
ctest --test-dir build --output-on-failure -j"$((2 * jobs))"

if [ "${KF_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "== sanitizer build (ASan+UBSan) and tests"
  BUILD_DIR=build-asan BUILD_TYPE=Debug bash scripts/build.sh -DKF_WERROR=ON -DKF_SANITIZE=ON
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$((2 * jobs))"
fi
if [ "${KF_SKIP_VALGRIND:-0}" != 1 ]; then
  echo "== valgrind (memcheck, --leak-check=full) over the whole suite, on the normal build"
  bash scripts/valgrind.sh build
fi
if [ "${KF_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzzing (libFuzzer, ASan+UBSan)"
  bash scripts/fuzz.sh --time "${KF_FUZZ_TIME:-60}"
fi
echo "== all tests passed"
