#!/usr/bin/env bash
# The web console in a real browser: starts the example app (admin API and console at
# /admin) over a fresh SQLite file, makes an admin key, a read-only admin key and a plain
# key with the CLI, and drives headless Chromium (Debian's, through Selenium from PyPI)
# through .ci/console_test.py, then through `keygate console`'s one-time login link.
# Screenshots go to docs/console/.
#
#   .ci/console.sh
set -euo pipefail
cd "$(dirname "$0")/.."

port=${KEYGATE_CONSOLE_PORT:-38419}
base="http://127.0.0.1:${port}"

if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ]; then
  echo "installing chromium and chromium-driver from Debian's packages" >&2
  if [ "$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >&2
fi
if ! python3 -c 'import selenium' 2>/dev/null; then
  python3 -m pip install --quiet 'selenium>=4,<5'
fi

source .ci/example_app.sh

# 10,000 keys, so that the keys page is timed over a store of that size: copies of one key
# under made-up ids, as the bench's scale report fills its stores, dated a day before so
# that the first page (newest first) still shows the keys the test looks at.
template=$(new_key --name bulk-key --owner bulk --read-only | cut -d_ -f2)
python3 - "$KEYGATE_DB" "$template" <<'PY'
import sqlite3, sys
db, template = sys.argv[1], sys.argv[2]
conn = sqlite3.connect(db)
columns = [row[1] for row in conn.execute("PRAGMA table_info(keys)")]
made_id = ("replace(replace(replace(replace(printf('%012x', (g.n * 25214903917) & 281474976710655),"
           " '0', 'w'), '1', 'x'), '8', 'y'), '9', 'z')")
values = [made_id if c == "id" else "t.created_at - 86400" if c == "created_at" else f"t.{c}"
          for c in columns]
conn.execute(
    f"INSERT OR IGNORE INTO keys ({', '.join(columns)}) "
    "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 9999) "
    f"SELECT {', '.join(values)} FROM g, keys AS t WHERE t.id = ?", (template,))
conn.commit()
count = conn.execute("SELECT count(*) FROM keys").fetchone()[0]
assert count >= 10000, count
conn.close()
PY
KEYGATE_CONSOLE_ADMIN=$(new_key --name console-admin --roles keygate:admin --full)
KEYGATE_CONSOLE_READER=$(new_key --name console-reader --roles keygate:admin --read-only)
KEYGATE_CONSOLE_PLAIN=$(new_key --name plain-app-key --owner team-a --full)
export KEYGATE_CONSOLE_ADMIN KEYGATE_CONSOLE_READER KEYGATE_CONSOLE_PLAIN
# Rows to look at: one expiring soon, one disabled.
new_key --name nightly-export --owner team-a --description "Exports pets every night" --read-only --expires 3d >/dev/null
soon_gone=$(new_key --name old-partner --owner partner-x --read-only | cut -d_ -f2)
"$bin/keygate" keys disable "$soon_gone" >/dev/null 2>&1

start_example_app "$port"

# `keygate console` over the same file: its one-time login link.
"$bin/keygate" console --db "$KEYGATE_DB" --spec specs/petstore.yaml >"$work/console.out" 2>&1 &
background_pids+=($!)
for _ in $(seq 1 100); do
  if grep -q '#token=' "$work/console.out"; then break; fi
  sleep 0.1
done
KEYGATE_CONSOLE_LINK=$(grep -o 'http://127.0.0.1:[0-9]*/console/login#token=[0-9a-f]*' "$work/console.out")
export KEYGATE_CONSOLE_LINK

started=$SECONDS
KEYGATE_CONSOLE_BASE=$base python3 .ci/console_test.py
echo "console browser test: $((SECONDS - started)) s"
# The server logged no secret of the keys the test used.
for key in "$KEYGATE_CONSOLE_ADMIN" "$KEYGATE_CONSOLE_READER" "$KEYGATE_CONSOLE_PLAIN"; do
  if grep -qF "${key##*_}" "$work/server.log"; then
    echo "the server log holds a key's secret" >&2
    exit 1
  fi
done
