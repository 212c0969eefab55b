#!/usr/bin/env bash
# What a generated module adds to an app's rebuild: the same small axum app built three
# ways, side by side in one run, incremental debug and release rebuilds after
# `touch src/main.rs`:
#   big   includes the module of mist.com (598 operations), guards the router with its
#         layer() and takes one of its extractors;
#   tiny  the same main.rs with the module of a one-operation document (same schemes,
#         same operation id);
#   none  the same app without keygate: no module, no layer, no extractor.
# "Added" is big minus none (the module and its use), beside big minus tiny (the module's
# size alone). Also the bytes of generated code per operation.
#
#   bench/rebuild_cost.sh                       (bench/run-all.sh calls it)
#   KEYGATE_BENCH_REV="1e814d4 HEAD" bench/rebuild_cost.sh   (before and after, one run)
#
# Environment:
#   REBUILD_ROUNDS=5          rounds per profile; the order of the apps rotates each round
#   KEYGATE_BENCH_REV=HEAD    the commits measured, each from a `git archive` snapshot
#                             (edits in the working tree during the run change nothing)
#   KEYGATE_BENCH_CORPUS=DIR  the big documents (default ../shared/corpus/big)
# Scratch (snapshots, apps, their target dirs) goes under $TMPDIR, removed at exit.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
rounds=${REBUILD_ROUNDS:-5}
read -r -a revs <<<"${KEYGATE_BENCH_REV:-HEAD}"
corpus=${KEYGATE_BENCH_CORPUS:-$repo/../shared/corpus/big}
document=$corpus/mist.com__main__0.12.4.yaml
[ -f "$document" ] || { echo "rebuild_cost: no $document (set KEYGATE_BENCH_CORPUS)" >&2; exit 1; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/keygate-rebuild-cost.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
cat >"$scratch/tiny.yaml" <<'EOF'
openapi: 3.0.3
info: {title: tiny, version: "1"}
components:
  securitySchemes:
    apiToken: {type: apiKey, in: header, name: Authorization}
    basicAuth: {type: http, scheme: basic}
security: [{apiToken: []}, {basicAuth: []}]
paths:
  /api/v1/self: {get: {operationId: getSelf}}
EOF

# One workspace per commit (two `keygate` path packages cannot share a lock file).
summary=()
names=()
for rev in "${revs[@]}"; do
  name=$(git -C "$repo" rev-parse --short "$rev")
  names+=("$name")
  tree=$scratch/$name/tree apps=$scratch/$name/apps
  mkdir -p "$tree" "$apps"
  git -C "$repo" archive --format=tar "$rev" | tar -x -C "$tree"
  # The generator of that commit (whichever package holds the `keygate` binary).
  (cd "$tree" && CARGO_TARGET_DIR=$scratch/$name/gen cargo build --offline -q --release --bin keygate)
  keygate=$scratch/$name/gen/release/keygate
  cp "$tree/Cargo.lock" "$apps/Cargo.lock"
  printf '[workspace]\nresolver = "2"\nmembers = ["big", "tiny", "none"]\n' >"$apps/Cargo.toml"
  for app in big tiny none; do
    mkdir -p "$apps/$app/src"
    cat >"$apps/$app/Cargo.toml" <<EOF
[package]
name = "$app"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
keygate = { path = "$tree/runtime" }
axum = { version = "0.8", default-features = false, features = ["tokio", "http1"] }
tokio = { version = "1", features = ["rt", "macros", "net"] }
EOF
    # Lines ending in `// keygate` are the app's use of the module; `none` drops them.
    cat >"$apps/$app/src/main.rs" <<'EOF'
use axum::routing::get;
use axum::Router;

mod api { // keygate
    include!("api.rs"); // keygate
} // keygate

async fn who(op: api::GetSelf) -> String { // keygate
    format!("{op:?}") // keygate
} // keygate

async fn hello() -> &'static str {
    "hello"
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let app = Router::new().route("/hello", get(hello));
    let app = app.route("/api/v1/self", get(who)); // keygate
    let app = app.layer(api::layer(keygate::StaticKeys::new().key("apiToken", "k"))); // keygate
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
EOF
  done
  sed -i '/\/\/ keygate$/d' "$apps/none/src/main.rs"
  "$keygate" generate "$document" -o "$apps/big/src/api.rs"
  "$keygate" generate "$scratch/tiny.yaml" -o "$apps/tiny/src/api.rs"
  bytes=$(wc -c <"$apps/big/src/api.rs")
  operations=$(grep -oE '[0-9]+ operations\.' "$apps/big/src/api.rs" | head -1 | grep -oE '[0-9]+')
  per_op=$((bytes / operations))
  echo "$name: module of $(basename "$document"): $bytes bytes, $operations operations, $per_op bytes per operation"
  summary+=("$name: generated code per operation, mist.com <= 1024 bytes: $per_op ($bytes / $operations): $([ "$per_op" -le 1024 ] && echo PASS || echo MISS)")
done

build() { # profile commit app -> seconds
  local flag=() start end
  [ "$1" = release ] && flag=(--release)
  start=$(date +%s%N)
  (cd "$scratch/$2/apps" && CARGO_TARGET_DIR=$scratch/$2/target cargo build --offline -q "${flag[@]}" -p "$3" 2>"$scratch/build.log") \
    || { cat "$scratch/build.log" >&2; return 1; }
  end=$(date +%s%N)
  awk -v ns=$((end - start)) 'BEGIN { printf "%.2f\n", ns / 1e9 }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {printf "%.2f", NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

cases=()
for name in "${names[@]}"; do for app in big tiny none; do cases+=("$name/$app"); done; done
for profile in debug release; do
  echo "$profile: first builds"
  for case in "${cases[@]}"; do build "$profile" "${case%/*}" "${case#*/}" >/dev/null; done
  declare -A times=()
  order=("${cases[@]}")
  for ((r = 0; r < rounds; r++)); do
    line="  round $((r + 1)):"
    for case in "${order[@]}"; do
      touch "$scratch/${case%/*}/apps/${case#*/}/src/main.rs"
      t=$(build "$profile" "${case%/*}" "${case#*/}")
      times[$case]+=" $t"
      line+=" $case $t"
    done
    echo "$line"
    order=("${order[@]:1}" "${order[0]}")
  done
  limit=0.3
  [ "$profile" = release ] && limit=1
  for name in "${names[@]}"; do
    # shellcheck disable=SC2086 # the times are word lists
    read -r big tiny none <<<"$(median ${times[$name/big]}) $(median ${times[$name/tiny]}) $(median ${times[$name/none]})"
    added=$(awk -v a="$big" -v b="$none" 'BEGIN { printf "%.2f", a - b }')
    size=$(awk -v a="$big" -v b="$tiny" 'BEGIN { printf "%.2f", a - b }')
    verdict=$(awk -v a="$added" -v l="$limit" 'BEGIN { print (a <= l ? "PASS" : "MISS") }')
    echo "  $name medians: big $big s, tiny $tiny s, none $none s"
    summary+=("$name: incremental $profile rebuild, added by the mist.com module <= $limit s: $added s (big $big - none $none; big - tiny $size s; medians of $rounds): $verdict")
  done
  unset times
done

echo
echo "summary (rebuild_cost):"
printf '  %s\n' "${summary[@]}"
