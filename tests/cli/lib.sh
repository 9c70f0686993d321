# lib.sh -- sourced by the tests/cli/*.sh scripts: pass/fail counting.
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
