#!/usr/bin/env bash
# Runs `keygate check` and `keygate generate` over every corpus document (real/, quirks/
# and big/), then compiles every generated module in one scratch crate under
# #![deny(warnings)] and clippy, and builds a Guard from each (so every routing table is
# proven constructible).
# Usage: .ci/corpus.sh [CORPUS_DIR]   (default: ../shared/corpus next to the repository)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-${KEYGATE_CORPUS:-$root/../shared/corpus}}
# A clone elsewhere still finds the shared corpus of this workplace.
[ -d "$corpus/real" ] || corpus=/work/shared/corpus
if [ ! -d "$corpus/real" ]; then
  echo "corpus: no documents at $corpus/real (pass the corpus directory as the first argument)" >&2
  exit 1
fi
scratch="$root/target/corpus-scratch"
export CARGO_TARGET_DIR="$root/target"

cargo build --release -q -p keygate-cli
bin="$root/target/release/keygate"

rm -rf "$scratch"
mkdir -p "$scratch/src"
cat > "$scratch/Cargo.toml" <<TOML
[package]
name = "keygate-corpus-scratch"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
keygate = { path = "$root/runtime" }

[workspace]
TOML
lib="$scratch/src/lib.rs"
echo '#![deny(warnings)]' > "$lib"
echo '//! Every corpus document, generated.' >> "$lib"
guards="$scratch/src/guards.rs"
echo '#[test] fn every_guard_builds() {' > "$guards"

# Documents keygate must refuse, with the text its error must hold: their schemes read
# a header no request can carry, so the operations needing them could never pass.
declare -A refused_with=(
  [rapidapi.com__dynamicdocs__1.0.yaml]='reads the header `ADVICEment API Key`, which no request can carry'
)

documents=0 check_ok=0 check_failed=0 generated=0 warnings=0 refused=0
for spec in "$corpus"/real/*.yaml "$corpus"/quirks/*.yaml "$corpus"/big/*.yaml; do
  documents=$((documents + 1))
  module="m_$(basename "$spec" .yaml | tr -c 'A-Za-z0-9\n' '_' | tr 'A-Z' 'a-z' | tr -s '_')"
  expected=${refused_with[$(basename "$spec")]:-}
  if [ -n "$expected" ]; then
    if ! "$bin" check "$spec" > /dev/null 2> "$scratch/check.err" \
      && grep -qF -- "$expected" "$scratch/check.err" \
      && ! "$bin" generate "$spec" -o "$scratch/refused.rs" 2> /dev/null; then
      refused=$((refused + 1))
    else
      check_failed=$((check_failed + 1))
      echo "expected a refusal holding '$expected': $spec" >&2
      cat "$scratch/check.err" >&2
    fi
    continue
  fi
  if "$bin" check "$spec" > /dev/null 2> "$scratch/check.err"; then
    check_ok=$((check_ok + 1))
  else
    check_failed=$((check_failed + 1))
    echo "check failed: $spec" >&2
    cat "$scratch/check.err" >&2
  fi
  warnings=$((warnings + $(grep -c '^warning' "$scratch/check.err" || true)))
  if "$bin" generate "$spec" -o "$scratch/src/$module.rs"; then
    generated=$((generated + 1))
    printf '/// %s\npub mod %s {\n    include!("%s.rs");\n}\n' "$(basename "$spec")" "$module" "$module" >> "$lib"
    echo "    keygate::Guard::new(&crate::$module::SPEC, keygate::StaticKeys::new());" >> "$guards"
  else
    echo "generate failed: $spec" >&2
  fi
done
echo '}' >> "$guards"
printf '#[cfg(test)]\nmod guards;\n' >> "$lib"

echo "corpus: $documents documents; check exit 0: $check_ok, check failed: $check_failed, refused as expected: $refused, warnings: $warnings; generated: $generated"
(cd "$scratch" && cargo build -q && cargo clippy -q -- -D warnings && cargo test -q --lib 2>&1 | grep -E "test result|panicked|FAILED")
echo "corpus: all $generated generated modules compile under #![deny(warnings)] and clippy -D warnings, and every guard builds"
[ "$check_failed" -eq 0 ] && [ "$generated" -eq $((documents - refused)) ]
