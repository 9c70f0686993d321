#!/usr/bin/env bash
# bench.sh -- issue 7's benchmark suite, printed as one table (benchmark, measured, target,
# met/missed): GET throughput and latency against nginx serving the same bytes, startup to the
# first answer and `kubefault run`'s overhead, watch fan-out to 1k and 10k watchers, a store of
# 100k pods, and injected-delay precision. A benchmark, not a test: it prints numbers, and exits
# non-zero only when it cannot run (a missing package as non-root, a failed build). Sections run
# one after another on 127.0.0.1; the server is pinned to CPU 0 and the load to CPU 1.
#
# Usage: scripts/bench.sh [SECTION...]   sections: http startup watch store delay (default: all)
# Environment: BENCH_DURATION (seconds per wrk run, 5), BENCH_RUNS (startup runs, 11),
# BENCH_WATCHERS ("1000 10000"), BENCH_PODS (100000), BENCH_CREATE_TIMEOUT (300 s),
# BENCH_DELAY_SAMPLES (40), BENCH_KEEP=1 keeps the work directory (raw outputs) and prints it,
# BENCH_BUILD_DIR (build): where kubefault is built, BENCH_BIN: a kubefault already built to
# measure instead (nothing is built; e.g. to compare two versions back to back).
# Installs wrk and nginx-light (and the build's packages, scripts/setup.sh) when missing, and
# builds $BENCH_BUILD_DIR/kubefault (RelWithDebInfo) with scripts/build.sh. About 8 minutes for all
# (the store section is bounded: 300 s of creates, 60 s of pages).
set -euo pipefail
cd "$(dirname "$0")/.."

all=(http startup watch store delay)
sections=("$@")
[ ${#sections[@]} -eq 0 ] && sections=("${all[@]}")
for s in "${sections[@]}"; do
  case " ${all[*]} " in
  *" $s "*) ;;
  *)
    echo "bench: unknown section \"$s\" (known: ${all[*]})" >&2
    exit 2
    ;;
  esac
done

# packages: the build's (setup.sh), then the benchmark's own, the same idempotent way
bash scripts/setup.sh >/dev/null
packages=(wrk nginx-light python3 curl util-linux)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bench: missing packages: ${missing[*]}; run as root (or: sudo $0)" >&2
    exit 2
  fi
  echo "bench: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # nginx's package would start the system nginx on port 80: forbid service starts while
  # installing, unless the machine already does (Debian's policy-rc.d, as container images have)
  made_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
fi

if [ -n "${BENCH_BIN:-}" ]; then
  BENCH_BIN=$(realpath "$BENCH_BIN")
  [ -x "$BENCH_BIN" ] || { echo "bench: BENCH_BIN $BENCH_BIN is not an executable" >&2; exit 2; }
else
  build_dir=${BENCH_BUILD_DIR:-build}
  echo "bench: building $build_dir/kubefault (RelWithDebInfo)" >&2
  BUILD_DIR=$build_dir BUILD_TYPE=RelWithDebInfo bash scripts/build.sh -DKF_SANITIZE=OFF >/dev/null
  BENCH_BIN=$(realpath "$build_dir/kubefault")
fi

BENCH_WORK=$(mktemp -d "${TMPDIR:-/tmp}/kubefault-bench.XXXXXX")
BENCH_ROWS=$BENCH_WORK/rows.tsv
BENCH_HELPER=$PWD/scripts/bench/kfbench.py
export BENCH_WORK BENCH_ROWS BENCH_BIN BENCH_HELPER
: >"$BENCH_ROWS"
if [ "${BENCH_KEEP:-0}" = 1 ]; then
  trap 'echo "bench: raw outputs in $BENCH_WORK" >&2' EXIT
else
  trap 'rm -rf "$BENCH_WORK"' EXIT
fi

started=$(date -u '+%Y-%m-%d %H:%M UTC')
for s in "${sections[@]}"; do
  echo "bench: $s ..." >&2
  t0=$SECONDS
  if ! bash "scripts/bench/$s.sh" >"$BENCH_WORK/$s.log" 2>&1; then
    printf '%s\t%s\t-\t-\n' "$s" "not measured: the section failed ($(tail -n 2 "$BENCH_WORK/$s.log" |
      tr '\n\t' '  '))" >>"$BENCH_ROWS"
  fi
  echo "bench: $s took $((SECONDS - t0)) s" >&2
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
printf 'kubefault benchmarks, %s: %s, %s CPUs (%s), %s MB RAM, wrk %s, nginx %s\n' "$started" \
  "$("$BENCH_BIN" --version 2>&1 | head -n 1)" "$(nproc)" "${cpu:-?}" \
  "$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)" \
  "$(dpkg-query -W -f='${Version}' wrk 2>/dev/null)" "$(dpkg-query -W -f='${Version}' nginx-light 2>/dev/null)"
awk -F'\t' '
  { for (i = 1; i <= 4; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
  END {
    split("benchmark|measured|target|result", h, "|")
    for (i = 1; i <= 4; i++) if (length(h[i]) > w[i]) w[i] = length(h[i])
    printf "%-*s | %-*s | %-*s | %s\n", w[1], h[1], w[2], h[2], w[3], h[3], h[4]
    line = ""
    for (i = 1; i <= 4; i++) { s = ""; for (j = 0; j < w[i]; j++) s = s "-"; line = line (i > 1 ? "-|-" : "") s }
    print line
    for (r = 1; r <= NR; r++)
      printf "%-*s | %-*s | %-*s | %s\n", w[1], cell[r, 1], w[2], cell[r, 2], w[3], cell[r, 3], cell[r, 4]
  }' "$BENCH_ROWS"
