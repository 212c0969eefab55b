#!/usr/bin/env bash
# keygate generate against OpenAPI Generator's rust-axum generator on the same document.
#
#   bench/openapi_generator.sh            (bench/run-all.sh calls it)
#
# Installs the PyPI package openapi-generator-cli (its wheel bundles the jar; it needs a
# Java runtime, `java` on PATH) into a venv under the target dir, then times both tools
# on mist.com (1.8 MB) in alternating rounds, and tries the kubernetes document (3.6 MB)
# with the generator's default YAML limit and with it raised.
#
# Environment:
#   KEYGATE_BENCH_SKIP_OAG=1   skip (it downloads about 33 MB from PyPI once)
#   OAG_ROUNDS=3               rounds on mist.com
#   OAG_VERSION=7.26.0         openapi-generator-cli version
#   KEYGATE_BENCH_CORPUS=DIR   big documents (default ../shared/corpus/big from the root)
#   CARGO_TARGET_DIR           where the keygate binary and the venv live (default target)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ "${KEYGATE_BENCH_SKIP_OAG:-0}" = 1 ]; then
  echo "openapi_generator: skipped (KEYGATE_BENCH_SKIP_OAG=1)"
  exit 0
fi

target=${CARGO_TARGET_DIR:-$root/target}
corpus=${KEYGATE_BENCH_CORPUS:-$root/../shared/corpus/big}
rounds=${OAG_ROUNDS:-3}
version=${OAG_VERSION:-7.26.0}
venv=$target/bench-venv
keygate=$target/release/keygate
mist=$corpus/mist.com__main__0.12.4.yaml
k8s=$corpus/kubernetes.io__main__unversioned.yaml

command -v java >/dev/null || { echo "openapi_generator: no java on PATH (the generator is a jar)" >&2; exit 1; }
[ -x "$keygate" ] || { echo "openapi_generator: $keygate missing; cargo build --release -p keygate-cli" >&2; exit 1; }
[ -f "$mist" ] || { echo "openapi_generator: $mist missing (set KEYGATE_BENCH_CORPUS)" >&2; exit 1; }

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/pip" show openapi-generator-cli 2>/dev/null | grep -qx "Version: $version"; then
  "$venv/bin/pip" install -q "openapi-generator-cli==$version"
fi
oag=$venv/bin/openapi-generator-cli
jar=$("$venv/bin/python" -c 'import importlib.resources as r; print(r.files("openapi_generator_cli") / "openapi-generator.jar")')
[ -f "$jar" ] || { echo "openapi_generator: the wheel has no bundled jar at $jar" >&2; exit 1; }
echo "openapi-generator-cli $("$oag" version) (jar bundled in the wheel: $(du -h "$jar" | cut -f1)), $(java -version 2>&1 | head -1)"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/keygate-oag.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# Seconds a command takes; its output goes to $scratch/last.log. Fails when it fails.
timed() {
  local start end
  start=$(date +%s%N)
  "$@" >"$scratch/last.log" 2>&1 || return 1
  end=$(date +%s%N)
  awk -v ns=$((end - start)) 'BEGIN { printf "%.3f\n", ns / 1e9 }'
}
run_oag() { rm -rf "$scratch/oag"; timed "$oag" generate -g rust-axum -i "$1" -o "$scratch/oag"; }
run_keygate() { rm -f "$scratch/keygate.rs"; timed "$keygate" generate "$1" -o "$scratch/keygate.rs"; }

stats() { # median min max of the arguments
  printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%.3f %.3f %.3f\n", m, v[1], v[NR]}'
}

echo
echo "mist.com ($(du -h "$mist" | cut -f1)), $rounds rounds, order alternating (seconds):"
oag_s=() kg_s=()
for ((r = 0; r < rounds; r++)); do
  if ((r % 2 == 0)); then
    oag_s+=("$(run_oag "$mist")")
    kg_s+=("$(run_keygate "$mist")")
  else
    kg_s+=("$(run_keygate "$mist")")
    oag_s+=("$(run_oag "$mist")")
  fi
  echo "  round $((r + 1)): openapi-generator ${oag_s[-1]} s, keygate ${kg_s[-1]} s"
done
read -r om omin omax <<<"$(stats "${oag_s[@]}")"
read -r km kmin kmax <<<"$(stats "${kg_s[@]}")"
ratio=$(awk -v a="$om" -v b="$km" 'BEGIN { printf "%.1f", a / b }')
files=$(find "$scratch/oag" -type f | wc -l)
echo "  openapi-generator rust-axum: $om s (min $omin, max $omax); $files files"
echo "  keygate generate:            $km s (min $kmin, max $kmax)"

echo
echo "kubernetes ($(du -h "$k8s" | cut -f1)) with the generator's defaults:"
if k8s_s=$(run_oag "$k8s"); then
  k8s_default="generated in $k8s_s s"
else
  k8s_default="refused: $(grep -m1 -o 'The incoming YAML document exceeds the limit[^;]*' "$scratch/last.log" || tail -1 "$scratch/last.log")"
fi
echo "  $k8s_default"
echo "kubernetes with JAVA_OPTS=-DmaxYamlCodePoints=10000000 (one run each):"
if k8s_s=$(JAVA_OPTS=-DmaxYamlCodePoints=10000000 run_oag "$k8s"); then
  k8s_kg=$(run_keygate "$k8s")
  k8s_raised="openapi-generator $k8s_s s, keygate $k8s_kg s: $(awk -v a="$k8s_s" -v b="$k8s_kg" 'BEGIN { printf "%.1f", a / b }')x"
else
  k8s_raised="failed: $(tail -1 "$scratch/last.log")"
fi
echo "  $k8s_raised"

verdict=MISS
if awk -v r="$ratio" 'BEGIN { exit !(r >= 50) }'; then verdict=PASS; fi
echo
echo "summary (openapi_generator):"
echo "  openapi-generator rust-axum / keygate generate, mist.com: ${ratio}x ($om s / $km s, medians of $rounds) (target >= 50x): $verdict"
echo "  kubernetes, generator defaults: $k8s_default; limit raised: $k8s_raised"
