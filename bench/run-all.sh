#!/usr/bin/env bash
# Every benchmark, built in release, and one summary of every target with PASS or MISS.
#
#   bench/run-all.sh
#
# About 15 minutes on 2 cores with everything on (the clean builds and OpenAPI
# Generator take most of it). Steps, each skippable:
#
#   overhead   overhead_report: in-process request overhead and routing scaling
#              KEYGATE_BENCH_SKIP_OVERHEAD=1; OVERHEAD_ARGS="400 2500" (rounds, requests)
#   matcher    matcher_report: one request against hostile segments of 1k, 10k, 64k
#              bytes (the matcher stays linear); KEYGATE_BENCH_SKIP_MATCHER=1
#   gen        gen_report: generation speed vs parse, peak RSS, generation scaling,
#              the YAML parsers side by side
#              KEYGATE_BENCH_SKIP_GEN=1; GEN_ARGS="--rounds 10 --scaling-rounds 7"
#   http       http_report: loopback HTTP throughput with wrk (installed with apt-get
#              when missing and running as root)
#              KEYGATE_BENCH_SKIP_HTTP=1; HTTP_ARGS="--rounds 6 --seconds 3"
#   build      build_cost.sh: clean builds (KEYGATE_BENCH_SKIP_BUILD=1 skips just those;
#              BUILD_ROUNDS=2), rebuilds, build-dependency graph
#              KEYGATE_BENCH_SKIP_BUILD_COST=1 skips the whole step
#   rebuild    rebuild_cost.sh: what the mist.com module adds to an app's incremental
#              debug and release rebuilds, beside the same app without it, and bytes of
#              generated code per operation; KEYGATE_BENCH_SKIP_REBUILD=1; REBUILD_ROUNDS=5
#   oag        openapi_generator.sh: OpenAPI Generator rust-axum against keygate
#              (downloads openapi-generator-cli from PyPI once; needs java)
#              KEYGATE_BENCH_SKIP_OAG=1; OAG_ROUNDS=3
#   plots      bench/plot.py in a venv with matplotlib: PNGs into bench/plots/
#              KEYGATE_BENCH_SKIP_PLOTS=1
#
# Not here: bench/http_profile.sh CASE (needs perf), the share of the server's CPU under
# loopback load that a case's code takes, from one run, without pairs.
#
# KEYGATE_BENCH_CORPUS=DIR: the big documents (default ../shared/corpus/big from the
# workspace root). CARGO_TARGET_DIR is honoured; logs and CSVs go to
# $CARGO_TARGET_DIR/bench-results (default target/bench-results).
#
# Ratios are of cases measured side by side in one run; keep the machine otherwise idle.
# Exits non-zero when a step failed (a MISS is a result, not a failure).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
case $CARGO_TARGET_DIR in /*) ;; *) CARGO_TARGET_DIR=$root/$CARGO_TARGET_DIR ;; esac
results=$CARGO_TARGET_DIR/bench-results
export KEYGATE_BENCH_RESULTS=$results
corpus=${KEYGATE_BENCH_CORPUS:-$root/../shared/corpus/big}
export KEYGATE_BENCH_CORPUS=$corpus
release=$CARGO_TARGET_DIR/release
mkdir -p "$results"

skip() { [ "${!1:-0}" = 1 ]; }
step() { printf '\n==> %s\n' "$*"; }
failed=()
summary=()

# Runs a step, its output also in $results/NAME.log; records a failure and goes on.
run() {
  local name=$1
  shift
  step "$name: $*"
  local start=$SECONDS
  if "$@" 2>&1 | tee "$results/$name.log"; then
    echo "($name: $((SECONDS - start)) s)"
  else
    echo "!! $name failed (log: $results/$name.log)" >&2
    failed+=("$name")
  fi
}

# The lines a step's "summary" section printed, or every PASS/MISS line.
collect() {
  local name=$1 log=$results/$1.log
  [ -f "$log" ] || return 0
  if grep -q '^summary (' "$log"; then
    while IFS= read -r line; do summary+=("[$name] ${line#  }"); done \
      < <(sed -n '/^summary (/,$p' "$log" | grep -v '^summary (' | grep -v 'wrote ')
  else
    # Each PASS/MISS line with the heading of its section.
    while IFS= read -r line; do summary+=("[$name] $line"); done \
      < <(awk '/^[^ ].*:$/ { sec = $0; sub(/:$/, "", sec) }
               /PASS|MISS/ { gsub(/^ +/, ""); gsub(/ +/, " "); print sec ": " $0 }' "$log")
  fi
}

step "tools"
if ! skip KEYGATE_BENCH_SKIP_HTTP && ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else
    echo "wrk is missing: install it (apt-get install -y wrk) or set KEYGATE_BENCH_SKIP_HTTP=1" >&2
    exit 1
  fi
fi
if ! skip KEYGATE_BENCH_SKIP_GEN || ! skip KEYGATE_BENCH_SKIP_OAG; then
  [ -d "$corpus" ] || { echo "no corpus at $corpus: set KEYGATE_BENCH_CORPUS" >&2; exit 1; }
fi
echo "target dir $CARGO_TARGET_DIR, corpus $corpus, $(nproc) cores, $(rustc --version)"
echo "tree: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ', with uncommitted changes (measured as they are)')"

step "build (release)"
cargo build --release -p keygate-cli
cargo build --release -p keygate-bench --bins

skip KEYGATE_BENCH_SKIP_OVERHEAD || run overhead "$release/overhead_report" ${OVERHEAD_ARGS:-400 2500}
skip KEYGATE_BENCH_SKIP_MATCHER || run matcher "$release/matcher_report"
# shellcheck disable=SC2086 # the *_ARGS are word lists
skip KEYGATE_BENCH_SKIP_GEN || run gen "$release/gen_report" --corpus "$corpus" --keygate "$release/keygate" ${GEN_ARGS:-}
# shellcheck disable=SC2086
skip KEYGATE_BENCH_SKIP_HTTP || run http "$release/http_report" ${HTTP_ARGS:-}
skip KEYGATE_BENCH_SKIP_BUILD_COST || run build bench/build_cost.sh
skip KEYGATE_BENCH_SKIP_REBUILD || run rebuild bench/rebuild_cost.sh
skip KEYGATE_BENCH_SKIP_OAG || run oag bench/openapi_generator.sh

if ! skip KEYGATE_BENCH_SKIP_PLOTS; then
  venv=$CARGO_TARGET_DIR/bench-venv
  step "plots"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -c 'import matplotlib' 2>/dev/null || "$venv/bin/pip" install -q matplotlib
  run plots "$venv/bin/python" bench/plot.py "$results" bench/plots
fi

step "summary"
for name in overhead matcher gen http build rebuild oag; do collect "$name"; done
printf '%s\n' "${summary[@]}" | tee "$results/summary.txt"
echo "(logs, CSVs and this summary: $results)"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed steps: ${failed[*]}" >&2
  exit 1
fi
