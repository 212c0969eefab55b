#!/usr/bin/env bash
# Every budget of BENCHMARKS.md, measured side by side, with PASS or MISS.
#
#   bench/run-all.sh
#
# About 25 minutes on 2 cores (the rebuilds and OpenAPI Generator take most of it).
# Steps, each skippable with KEYGATE_BENCH_SKIP_<STEP>=1:
#   OVERHEAD  overhead_report: request overhead in process, routing scaling
#             (OVERHEAD_ARGS="400 2500": rounds, requests per case and round)
#   MATCHER   matcher_report: the matcher stays linear on hostile segments
#   GEN       gen_report: generation against a parse, peak RSS, scaling (GEN_ARGS)
#   REBUILD   rebuild_cost.sh: what the mist.com module adds to an app's rebuild
#   SCALE     scale_report: key stores of 1k, 100k and 1M keys side by side (SCALE_ARGS;
#             PostgreSQL too when KEYGATE_TEST_DATABASE_URL is set; a few hundred MB of
#             disk while it runs)
#   LIFECYCLE lifecycle_report: 1M keys created through the store API, list pages with
#             each filter (LIFECYCLE_ARGS="--keys N"; PostgreSQL too with the URL)
#   OAG       openapi_generator.sh: OpenAPI Generator against keygate on mist.com (needs
#             java; downloads openapi-generator-cli from PyPI once)
#
# KEYGATE_BENCH_CORPUS=DIR: the big documents (default ../shared/corpus/big). Logs, CSVs
# and the summary go to $CARGO_TARGET_DIR/bench-results. Keep the machine otherwise idle.
# Exits non-zero when a step failed (a MISS is a result, not a failure).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
case $CARGO_TARGET_DIR in /*) ;; *) CARGO_TARGET_DIR=$root/$CARGO_TARGET_DIR ;; esac
results=$CARGO_TARGET_DIR/bench-results
export KEYGATE_BENCH_RESULTS=$results
export KEYGATE_BENCH_CORPUS=${KEYGATE_BENCH_CORPUS:-$root/../shared/corpus/big}
release=$CARGO_TARGET_DIR/release
rm -rf "$results" && mkdir -p "$results"
[ -d "$KEYGATE_BENCH_CORPUS" ] || { echo "no corpus at $KEYGATE_BENCH_CORPUS: set KEYGATE_BENCH_CORPUS" >&2; exit 1; }

skip() { [ "${!1:-0}" = 1 ]; }
failed=()

# Runs a step, its output also in $results/NAME.log; records a failure and goes on.
run() {
  local name=$1
  shift
  printf '\n==> %s: %s\n' "$name" "$*"
  "$@" 2>&1 | tee "$results/$name.log" || failed+=("$name")
}

echo "$(nproc) cores, $(rustc --version), tree $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' with uncommitted changes')"
cargo build --release -p keygate-cli -p keygate-bench --bins

# shellcheck disable=SC2086 # the *_ARGS are word lists
skip KEYGATE_BENCH_SKIP_OVERHEAD || run overhead "$release/overhead_report" ${OVERHEAD_ARGS:-400 2500}
skip KEYGATE_BENCH_SKIP_MATCHER || run matcher "$release/matcher_report"
# shellcheck disable=SC2086
skip KEYGATE_BENCH_SKIP_GEN || run gen "$release/gen_report" --corpus "$KEYGATE_BENCH_CORPUS" --keygate "$release/keygate" ${GEN_ARGS:-}
# shellcheck disable=SC2086
skip KEYGATE_BENCH_SKIP_SCALE || run scale "$release/scale_report" ${SCALE_ARGS:-}
# shellcheck disable=SC2086
skip KEYGATE_BENCH_SKIP_LIFECYCLE || run lifecycle "$release/lifecycle_report" ${LIFECYCLE_ARGS:-}
skip KEYGATE_BENCH_SKIP_REBUILD || run rebuild bench/rebuild_cost.sh
skip KEYGATE_BENCH_SKIP_OAG || run oag bench/openapi_generator.sh

printf '\n==> summary\n'
for name in overhead matcher gen scale lifecycle rebuild oag; do
  [ -f "$results/$name.log" ] && grep -E 'PASS|MISS' "$results/$name.log" | sed "s/^ */[$name] /"
done | tee "$results/summary.txt"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed steps: ${failed[*]}" >&2
  exit 1
fi
