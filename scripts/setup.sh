#!/usr/bin/env bash
# setup.sh -- install the Debian packages kubefault builds, tests and runs with (idempotent).
# Run as root on Debian 12; does nothing when everything is already there.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libevent-dev libssl-dev zlib1g-dev libhttp-parser-dev libcjson-dev
  libcurl4-openssl-dev libcmocka-dev
  libxml2-dev         # the JUnit report's test reads it back with libxml2 (tests only)
  protobuf-compiler   # makes the protobuf test vectors (scripts/gen-proto-vectors.sh)
  curl ca-certificates
  clang-format        # the house format, checked by scripts/test.sh
  valgrind            # scripts/valgrind.sh: the whole suite under memcheck (scripts/test.sh)
  clang libclang-rt-14-dev  # the libFuzzer targets (scripts/fuzz.sh): clang and its fuzzer runtime
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}; run as root (or: sudo $0)" >&2
  exit 2
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
