#!/usr/bin/env bash
# Build cost of the example app: keygate-codegen as a build-dependency against the same
# app including a pre-generated module, incremental rebuilds, and the build-dependency
# graph.
#
#   bench/build_cost.sh            (bench/run-all.sh calls it)
#
# (a) clean `cargo build --release -p petstore-example` as it is (build.rs runs
#     keygate_codegen::Builder), in a fresh target dir;
# (b) a copy of the example outside the workspace without build.rs, its main.rs
#     including the module build.rs wrote in (a), with a path dependency on the same
#     runtime and the workspace's Cargo.lock (so every version matches), in a fresh
#     target dir. Rounds alternate (a) and (b), (a) first; the ratio is of medians.
# (c) a rebuild with nothing changed, then after `touch specs/petstore.yaml`: what
#     cargo reruns.
# (d) the build-dependency graph: `cargo tree -p keygate-codegen --no-default-features`.
#
# Environment:
#   BUILD_ROUNDS=2            rounds of (a) and (b)
#   KEYGATE_BENCH_SKIP_BUILD=1  skip (a) and (b) (several minutes); (c) then builds once
# Everything builds from a snapshot of the committed tree (`git archive HEAD`), so edits
# in the working tree during the run change nothing. Snapshot and temporary target dirs
# go under $TMPDIR (default /tmp) and are removed at exit.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

rounds=${BUILD_ROUNDS:-2}
skip=${KEYGATE_BENCH_SKIP_BUILD:-0}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/keygate-build-cost.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
root=$scratch/workspace
mkdir -p "$root"
git archive --format=tar HEAD | tar -x -C "$root"
cd "$root"
echo "snapshot of $(git -C "$repo" rev-parse --short HEAD) in $root"

# The copy's dependency lines repeat the workspace's; stop if those changed.
for line in 'axum = { version = "0.8", default-features = false }' \
  'tokio = { version = "1", features = ["rt-multi-thread", "macros", "net"] }'; do
  grep -qxF "$line" Cargo.toml || { echo "build_cost: Cargo.toml no longer has: $line (update the copy below)" >&2; exit 1; }
done
grep -qF 'axum = { workspace = true, features = ["tokio", "http1", "json"] }' example/Cargo.toml \
  || { echo "build_cost: example/Cargo.toml's axum line changed (update the copy below)" >&2; exit 1; }

copy=$scratch/petstore-include
mkdir -p "$copy/src"
cat >"$copy/Cargo.toml" <<EOF
[package]
name = "petstore-example"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
keygate = { path = "$root/runtime", version = "0.1.0" }
axum = { version = "0.8", default-features = false, features = ["tokio", "http1", "json"] }
tokio = { version = "1", features = ["rt-multi-thread", "macros", "net"] }

[workspace]
EOF
cp Cargo.lock "$copy/Cargo.lock"
sed 's|keygate::include_generated!("petstore");|include!("petstore.rs");|' example/src/main.rs >"$copy/src/main.rs"
grep -q 'include!("petstore.rs")' "$copy/src/main.rs" || { echo "build_cost: could not rewrite example/src/main.rs" >&2; exit 1; }

# Seconds a clean release build takes (log in $scratch/build.log).
build_a() {
  local dir=$scratch/target-a start end
  rm -rf "$dir"
  start=$(date +%s%N)
  CARGO_TARGET_DIR=$dir cargo build --offline --release -p petstore-example >"$scratch/build.log" 2>&1 || { cat "$scratch/build.log" >&2; return 1; }
  end=$(date +%s%N)
  # (b) includes exactly what build.rs generated.
  [ -f "$copy/src/petstore.rs" ] || cp "$dir"/release/build/petstore-example-*/out/petstore.rs "$copy/src/petstore.rs"
  awk -v ns=$((end - start)) 'BEGIN { printf "%.1f\n", ns / 1e9 }'
}
build_b() {
  local dir=$scratch/target-b start end
  rm -rf "$dir"
  start=$(date +%s%N)
  (cd "$copy" && CARGO_TARGET_DIR=$dir cargo build --offline --release >"$scratch/build.log" 2>&1) || { cat "$scratch/build.log" >&2; return 1; }
  end=$(date +%s%N)
  rm -rf "$dir"
  awk -v ns=$((end - start)) 'BEGIN { printf "%.1f\n", ns / 1e9 }'
}
stats() { # median min max of the arguments
  printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2; printf "%.1f %.1f %.1f\n", m, v[1], v[NR]}'
}

summary=()
if [ "$skip" != 1 ]; then
  echo "clean release builds, $rounds rounds, order alternating (seconds; machine shared, so noisy):"
  a_s=() b_s=()
  for ((r = 0; r < rounds; r++)); do
    if ((r % 2 == 0)); then
      a_s+=("$(build_a)")
      b_s+=("$(build_b)")
    else
      b_s+=("$(build_b)")
      a_s+=("$(build_a)")
    fi
    echo "  round $((r + 1)): (a) build.rs + keygate-codegen ${a_s[-1]} s, (b) pre-generated module ${b_s[-1]} s"
  done
  # The copy's lock after its build: every version must be one of the workspace's.
  extra=$(comm -23 <(awk '/^name = /{n=$3} /^version = /{print n, $3}' "$copy/Cargo.lock" | sort -u) \
    <(awk '/^name = /{n=$3} /^version = /{print n, $3}' Cargo.lock | sort -u))
  [ -z "$extra" ] || { echo "build_cost: the copy resolved versions the workspace does not use: $extra" >&2; exit 1; }
  read -r am amin amax <<<"$(stats "${a_s[@]}")"
  read -r bm bmin bmax <<<"$(stats "${b_s[@]}")"
  ratio=$(awk -v a="$am" -v b="$bm" 'BEGIN { printf "%.2f", a / b }')
  echo "  (a) $am s (min $amin, max $amax); (b) $bm s (min $bmin, max $bmax); (a)/(b) ${ratio}x"
  echo "  the copy resolved no version the workspace's Cargo.lock does not have"
  summary+=("clean release build, with keygate-codegen build-dependency / pre-generated module: ${ratio}x ($am s / $bm s, medians of $rounds)")
else
  echo "clean builds skipped (KEYGATE_BENCH_SKIP_BUILD=1); one build for the rebuild checks"
  rm -rf "$scratch/target-a"
  CARGO_TARGET_DIR=$scratch/target-a cargo build --offline --release -p petstore-example >"$scratch/build.log" 2>&1 || { cat "$scratch/build.log" >&2; exit 1; }
fi

# (c) Rebuilds in the target dir of the last (a) build.
rebuild() { # sets $log and $took
  local start end
  start=$(date +%s%N)
  log=$(CARGO_TARGET_DIR=$scratch/target-a cargo build --offline --release -p petstore-example -v 2>&1)
  end=$(date +%s%N)
  took=$(awk -v ns=$((end - start)) 'BEGIN { printf "%.1f", ns / 1e9 }')
}
describe() { # what cargo did for the example in one -v log
  local log=$1 script app
  script=no app=no
  grep -qE 'Running `[^`]*petstore-example-[0-9a-f]+/build-script-build`' <<<"$log" && script=yes
  grep -qE 'Running `[^`]*rustc --crate-name petstore_example [^`]*src/main.rs' <<<"$log" && app=yes
  echo "build script ran: $script; app recompiled: $app; compiling: [$(grep -E '^\s+Compiling ' <<<"$log" | awk '{printf "%s%s", sep, $2; sep=" "}')], $(grep -cE '^\s+Fresh ' <<<"$log" || true) crates fresh"
}
echo
echo "rebuild, nothing changed:"
rebuild
unchanged="$took s; $(describe "$log")"
fresh=MISS
if grep -qE '^\s+Fresh petstore-example' <<<"$log" && ! grep -qE '^\s+Compiling ' <<<"$log"; then fresh=PASS; fi
echo "  $unchanged; 'Fresh petstore-example' and nothing compiling: $fresh"
summary+=("rebuild with the spec unchanged: $unchanged: $fresh")

echo "rebuild after touch specs/petstore.yaml (content unchanged):"
out=$(ls -d "$scratch"/target-a/release/build/petstore-example-*/out/petstore.rs | head -1)
before=$(stat -c %Y "$out")
touch specs/petstore.yaml
rebuild
after=$(stat -c %Y "$out")
touched="$took s; $(describe "$log")"
written=no
[ "$before" = "$after" ] || written=yes
echo "  $touched; generated file rewritten: $written"
summary+=("rebuild after touching the spec: $touched; generated file rewritten: $written")

# (d) The build-dependency graph.
echo
echo "build-dependency graph: cargo tree -p keygate-codegen --no-default-features -e normal"
tree=$(cargo tree --offline -p keygate-codegen --no-default-features -e normal --prefix none | sed 's/ (\*)$//' | sort -u)
count=$(wc -l <<<"$tree")
full=$(cargo tree --offline -p keygate-codegen -e normal --prefix none | sed 's/ (\*)$//' | sort -u | wc -l)
heavy=$(grep -E '^(clap|clap_builder|tokio|rusqlite|libsqlite3-sys|tokio-postgres|postgres[a-z-]*|deadpool[a-z-]*|sqlx[a-z-]*|keygate) ' <<<"$tree" || true)
echo "  $count crates including keygate-codegen (with the cli feature: $full)"
sed 's/^/    /' <<<"$tree"
graph=PASS
[ -z "$heavy" ] || graph=MISS
echo "  no clap, tokio or database crate: $graph${heavy:+ (found: $(tr '\n' ' ' <<<"$heavy"))}"
summary+=("build-dependency graph: $count crates, no clap/tokio/database crate: $graph")

echo
echo "summary (build_cost):"
printf '  %s\n' "${summary[@]}"
