#!/usr/bin/env bash
# Where the server's CPU goes under loopback load: one `http_report --alone CASE` run
# sampled by perf (cpu-clock, call chains unwound from DWARF, so through glibc's malloc
# and system call wrappers too), then the share of the server thread's samples that
# keygate's code owns (bench/http_profile.py says how a sample is assigned); for the
# from_fn reference cases, the middleware's own code. The share comes from one run, so
# drift between runs, which swamps the throughput pairs on these machines, does not
# enter it.
#
#   bench/http_profile.sh [CASE] [SECONDS]     (default static_keys_around 10)
#
# Needs perf and wrk (apt-get install linux-perf wrk, as root); perf needs
# kernel.perf_event_paranoid <= 1 or root. The samples take about 60 MB a second of
# the run; they are deleted once read (KEEP_PERF_DATA=1 keeps them in the results dir).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
case_name=${1:-static_keys_around}
seconds=${2:-10}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
results=${KEYGATE_BENCH_RESULTS:-$CARGO_TARGET_DIR/bench-results}
mkdir -p "$results"

for tool in perf wrk; do
  command -v "$tool" >/dev/null && continue
  package=$tool
  [ "$tool" = perf ] && package=linux-perf
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq "$package" >/dev/null
  else
    echo "$tool is missing: apt-get install -y $package" >&2
    exit 1
  fi
done

cargo build -q --release -p keygate-bench --bin http_report

data=$results/http_profile.$case_name.data
frequency=1999
perf record -q -F $frequency -e cpu-clock --call-graph dwarf,16384 -o "$data" -- \
  "$CARGO_TARGET_DIR/release/http_report" --alone "$case_name" --seconds "$seconds"
# The reference middlewares' own code is axum's from_fn and the bench's check, not keygate.
case_code=()
case $case_name in
  from_fn_*) case_code=(--case-code '^(axum::middleware::from_fn|keygate_bench::hashmap_gate)') ;;
esac
perf script -i "$data" -F comm,tid,time,ip,sym,dso 2>/dev/null |
  python3 bench/http_profile.py --frequency $frequency "${case_code[@]}"
[ "${KEEP_PERF_DATA:-0}" = 1 ] || rm -f "$data"
