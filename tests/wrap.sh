#!/bin/sh
# wrap.sh -- how CTest starts every test: "$@" as given, or under the command in KF_TEST_WRAPPER
# (scripts/valgrind.sh sets it to "valgrind --leak-check=full ..."). The test scripts' kubefault is
# tests/kubefault-under-test (made by tests/CMakeLists.txt), which comes through here too, so every
# kubefault a test starts runs under the same wrapper. KF_TEST_WRAPPER is split into words at
# blanks and newlines, without globbing: a command and its options, none with blanks.
set -f
# shellcheck disable=SC2086
exec ${KF_TEST_WRAPPER:-} "$@"
