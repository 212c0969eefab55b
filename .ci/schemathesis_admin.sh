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

source .ci/example_app.sh

key=$(new_key --name schemathesis-admin --roles keygate:admin --full)
# schemathesis reuses ids from answers; the hooks keep it off the key it runs with.
KEYGATE_ST_ADMIN_ID=$(echo "$key" | cut -d_ -f2)
export KEYGATE_ST_ADMIN_ID SCHEMATHESIS_HOOKS=schemathesis_admin_hooks PYTHONPATH=.ci
# Something to read, disable and page through besides the admin key.
"$bin/keygate" keys create --name reader --owner team --json >/dev/null 2>&1

start_example_app "$port"

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
