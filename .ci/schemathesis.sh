#!/usr/bin/env bash
# Runs schemathesis (PyPI) against the example app and specs/petstore.yaml, twice:
# with a valid full-access key (no 5xx; auth really enforced), and with no key (no 5xx;
# every secured operation answers 401 with WWW-Authenticate).
#
#   .ci/schemathesis.sh [MAX_EXAMPLES]     (default 50 per operation)
set -euo pipefail
cd "$(dirname "$0")/.."

examples=${1:-50}
port=${KEYGATE_ST_PORT:-38417}
base="http://127.0.0.1:${port}/v1"

if ! command -v schemathesis >/dev/null; then
  python3 -m pip install --quiet 'schemathesis>=4,<5'
fi

source .ci/example_app.sh

key=$(new_key --name schemathesis --full --roles writer)

start_example_app "$port"

common=(--url "$base" --max-examples "$examples" --generation-deterministic --no-color)

echo "schemathesis: with a valid key (checks: not_a_server_error, ignored_auth)"
schemathesis run specs/petstore.yaml "${common[@]}" \
  --checks not_a_server_error,ignored_auth \
  -H "X-API-Key: $key" -H "X-App-Id: demo-app"

echo "schemathesis: without a key (checks: not_a_server_error, 401 + WWW-Authenticate)"
SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH=.ci schemathesis run specs/petstore.yaml "${common[@]}" \
  --checks not_a_server_error,secured_operation_refuses_without_a_key
