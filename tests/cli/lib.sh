# lib.sh -- sourced by the tests/cli/*.sh scripts: pass/fail counting, and how long a server may
# take to start or stop.
# TRIES: tenths of a second a server gets to print its banner or to exit: 10 s, and 60 s when
# KF_TEST_WRAPPER (tests/wrap.sh) runs every kubefault under a slow wrapper such as valgrind.
TRIES=100
[ -z "${KF_TEST_WRAPPER:-}" ] || TRIES=600
# check NAME COMMAND...: the command must succeed; counts into $pass and $fail.
pass=0
fail=0
check() {
  local name=$1
  shift
  if "$@"; then
    pass=$((pass + 1))
    echo "ok   $name"
  else
    fail=$((fail + 1))
    echo "FAIL $name"
  fi
}
