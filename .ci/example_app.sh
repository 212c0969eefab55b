# Sourced by the scripts that drive the example app (schemathesis, the console's browser
# test): builds the app and the CLI, points KEYGATE_DB at a throwaway key database, and
# stops what was started in the background when the script exits.

cargo build --quiet -p petstore-example -p keygate-cli
bin=${CARGO_TARGET_DIR:-target}/debug
work=$(mktemp -d)
export KEYGATE_DB="$work/keys.db"
background_pids=()
cleanup() {
  for pid in "${background_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# `keygate keys create ... --json`, the whole key only.
new_key() {
  "$bin/keygate" keys create "$@" --json 2>/dev/null \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])'
}

# Starts the example app on port $1 (log in $work/server.log) and waits for its health
# check.
start_example_app() {
  PORT=$1 "$bin/petstore-example" >"$work/server.log" 2>&1 &
  background_pids+=($!)
  for _ in $(seq 1 100); do
    if curl -s -o /dev/null "http://127.0.0.1:$1/v1/health"; then break; fi
    sleep 0.1
  done
}
