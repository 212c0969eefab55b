#!/usr/bin/env bash
# Runs schemathesis (PyPI) against the example app's admin API (`/admin`) and
# specs/admin.yaml, with an admin key made by the CLI: no 5xx, and every answer conforms
# to the document (schema, status code, content type, headers).
#
#   .ci/schemathesis_admin.sh [MAX_EXAMPLES]     (default 50 per operation)
set -euo pipefail
cd "$(dirname "$0")/.."

examples=${1:-50}
port=${KEYGATE_ST_ADMIN_PORT:-38418}
base="http://127.0.0.1:${port}/admin"

if ! command -v schemathesis >/dev/null; then
  python3 -m pip install --quiet 'schemathesis>=4,<5'
fi

cargo build --quiet -p petstore-example -p keygate-cli
bin=${CARGO_TARGET_DIR:-target}/debug
work=$(mktemp -d)
export KEYGATE_DB="$work/keys.db"
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

admin_key() {
  "$bin/keygate" keys create --name "$1" --roles keygate:admin --full --json 2>/dev/null \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])'
}
key=$(admin_key schemathesis-admin)
# schemathesis reuses ids from answers; the hooks keep it off the key it runs with.
KEYGATE_ST_ADMIN_ID=$(echo "$key" | cut -d_ -f2)
export KEYGATE_ST_ADMIN_ID SCHEMATHESIS_HOOKS=schemathesis_admin_hooks PYTHONPATH=.ci
# Something to read, disable and page through besides the admin key.
"$bin/keygate" keys create --name reader --owner team --json >/dev/null 2>&1

PORT=$port "$bin/petstore-example" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  if curl -s -o /dev/null "http://127.0.0.1:${port}/v1/health"; then break; fi
  sleep 0.1
done

checks=not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance,response_headers_conformance
common=(--url "$base" --max-examples "$examples" --generation-deterministic --no-color --checks "$checks")

echo "schemathesis: the admin API with an admin key (no 5xx; answers conform to specs/admin.yaml)"
schemathesis run specs/admin.yaml "${common[@]}" -H "Authorization: Bearer $key"
# A run whose key stopped working would pass on 401s alone.
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" "$base/keys?limit=1")
if [ "$status" != 200 ]; then
  echo "the admin key no longer works after the run ($status): the run tested little" >&2
  exit 1
fi
