#!/usr/bin/env bash
# What a generated module adds to an app's rebuild: the same small axum app built three
# ways, side by side in one run, incremental debug and release rebuilds after
# `touch src/main.rs`:
#   big   includes the module of the big document (mist.com, 598 operations), guards the
#         router with its layer() and takes one of its extractors;
#   tiny  the same main.rs, with the module of a one-operation document (same schemes,
#         same operation id);
#   none  the same app without keygate: no module, no layer, no extractor.
# "Added" is big minus none (what the module and its use cost), and big minus tiny
# (what the size of the module costs). Also bytes of generated code per operation.
#
#   bench/rebuild_cost.sh            (bench/run-all.sh calls it)
#
# Environment:
#   REBUILD_ROUNDS=5          rounds per profile (app order rotates each round)
#   KEYGATE_BENCH_REV=HEAD    the commit measured (a `git archive` snapshot of it, so
#                             edits in the working tree during the run change nothing)
#   KEYGATE_BENCH_CORPUS=DIR  the big documents (default ../shared/corpus/big)
# Scratch (snapshot, apps, their target dir) goes under $TMPDIR and is removed at exit.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
rounds=${REBUILD_ROUNDS:-5}
rev=${KEYGATE_BENCH_REV:-HEAD}
corpus=${KEYGATE_BENCH_CORPUS:-$repo/../shared/corpus/big}
document=$corpus/mist.com__main__0.12.4.yaml
[ -f "$document" ] || { echo "rebuild_cost: no $document (set KEYGATE_BENCH_CORPUS)" >&2; exit 1; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/keygate-rebuild-cost.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
tree=$scratch/tree
mkdir -p "$tree"
git -C "$repo" archive --format=tar "$rev" | tar -x -C "$tree"
echo "snapshot of $(git -C "$repo" rev-parse --short "$rev") in $tree"

# The generator of that commit (whichever package holds the `keygate` binary).
(cd "$tree" && CARGO_TARGET_DIR=$scratch/gen-target cargo build --offline -q --release --bin keygate)
keygate=$scratch/gen-target/release/keygate

apps=$scratch/apps
mkdir -p "$apps"
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
"$keygate" generate "$scratch/tiny.yaml" -o "$apps/tiny/src/api.rs"

bytes=$(wc -c <"$apps/big/src/api.rs")
operations=$(grep -oE '[0-9]+ operations\.' "$apps/big/src/api.rs" | head -1 | grep -oE '[0-9]+')
per_op=$((bytes / operations))
echo "module of $(basename "$document"): $bytes bytes, $operations operations: $per_op bytes per operation"

export CARGO_TARGET_DIR=$apps/target
build() { # profile app -> seconds
  local flag=() start end
  [ "$1" = release ] && flag=(--release)
  start=$(date +%s%N)
  (cd "$apps" && cargo build --offline -q "${flag[@]}" -p "$2" 2>"$scratch/build.log") || { cat "$scratch/build.log" >&2; return 1; }
  end=$(date +%s%N)
  awk -v ns=$((end - start)) 'BEGIN { printf "%.2f\n", ns / 1e9 }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {printf "%.2f", NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

summary=("generated code per operation, mist.com <= 1024 bytes: $per_op ($bytes / $operations): $([ "$per_op" -le 1024 ] && echo PASS || echo MISS)")
for profile in debug release; do
  echo "$profile: first builds"
  for app in big tiny none; do build "$profile" "$app" >/dev/null; done
  declare -A times=([big]="" [tiny]="" [none]="")
  order=(big tiny none)
  for ((r = 0; r < rounds; r++)); do
    line="  round $((r + 1)):"
    for app in "${order[@]}"; do
      touch "$apps/$app/src/main.rs"
      t=$(build "$profile" "$app")
      times[$app]+=" $t"
      line+=" $app $t s"
    done
    echo "$line"
    order=("${order[@]:1}" "${order[0]}")
  done
  # shellcheck disable=SC2086 # the times are word lists
  read -r big tiny none <<<"$(median ${times[big]}) $(median ${times[tiny]}) $(median ${times[none]})"
  added=$(awk -v a="$big" -v b="$none" 'BEGIN { printf "%.2f", a - b }')
  size=$(awk -v a="$big" -v b="$tiny" 'BEGIN { printf "%.2f", a - b }')
  limit=0.3
  [ "$profile" = release ] && limit=1
  verdict=$(awk -v a="$added" -v l="$limit" 'BEGIN { print (a <= l ? "PASS" : "MISS") }')
  echo "  medians: big $big s, tiny $tiny s, none $none s"
  summary+=("incremental $profile rebuild, added by the mist.com module <= $limit s: $added s (big $big - none $none; big - tiny $size s; medians of $rounds): $verdict")
done

echo
echo "summary (rebuild_cost):"
printf '  %s\n' "${summary[@]}"
