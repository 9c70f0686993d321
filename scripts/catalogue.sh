#!/usr/bin/env bash
# catalogue.sh -- the README's main job: install what is needed, build kubefault, and reproduce the
# whole catalogue of documented failures (scenarios/*.json, one per section of GitLab Runner's
# Kubernetes troubleshooting page, with its variants and fixed counterparts) with the reference
# job client, each scenario checked against its own expectations. Prints kubefault run's table;
# writes catalogue.xml (JUnit) and catalogue.json beside it; exit status 0 when every scenario
# passes. Extra arguments go to kubefault run (e.g. --verbose, or scenario files instead of all).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BUILD_DIR=build bash scripts/build.sh >/dev/null
out=${CATALOGUE_OUT:-build}
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(scenarios/)
exec ./build/kubefault run --junit "$out/catalogue.xml" --json "$out/catalogue.json" "${args[@]}"
