#!/usr/bin/env bash
# schemathesis (v4, from PyPI) against /docs/json with all checks, in three passes: no credentials, a player
# token, the admin key. Starts its own server on a fresh embedded store, stops it by its PID, and exits non-zero
# on any failure (or on an error-level line in the server's log). Bounded: ST_MAX_EXAMPLES per operation and
# phase, a fixed seed and deterministic generation, so a run is reproducible; the three passes take about three
# minutes on two cores.
#   bash test/schemathesis/run.sh            (ST_MAX_EXAMPLES=120 ST_SEED=20261202 ST_VENV=<dir> to change)
set -euo pipefail
cd "$(dirname "$0")/../.."

# Exact version: a new schemathesis release adds checks; upgrade it here, on purpose.
st_version=4.32.5
venv=${ST_VENV:-"${XDG_CACHE_HOME:-$HOME/.cache}/townhall/schemathesis-$st_version"}
max_examples=${ST_MAX_EXAMPLES:-120}
seed=${ST_SEED:-20261202}
work=$(mktemp -d)
config="$PWD/test/schemathesis/schemathesis.toml"

if [ ! -x "$venv/bin/schemathesis" ]; then
  echo "schemathesis $st_version into $venv (PyPI)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$st_version"
fi
"$venv/bin/schemathesis" --version

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
admin_key=$(python3 -c 'import secrets; print("st-" + secrets.token_urlsafe(24))')
base="http://127.0.0.1:$port"
# The fuzzer is not testing the rate limit (routes/ tests do): a high one, so its cases reach the routes.
env -u MONGODB_URL -u REDIS_URL FASTIFY_AUTOLOAD_TYPESCRIPT=1 HOST=127.0.0.1 PORT="$port" DATA_DIR="$work/data" \
  ADMIN_API_KEY="$admin_key" RATE_LIMIT_MAX=1000000 LOG_LEVEL=info node --import tsx src/server.ts > "$work/server.log" 2>&1 &
server_pid=$!
stop_server() { kill -INT "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true; }
trap stop_server EXIT
for _ in $(seq 1 120); do curl -fsS "$base/ready" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fsS "$base/ready" >/dev/null || { cat "$work/server.log"; echo "schemathesis: the server did not become ready"; exit 1; }

token=$(curl -fsS -X POST -H 'content-type: application/json' -d '{"path":"auth:newPlayerToken","args":{}}' "$base/api/mutation" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["value"]["token"])')

failed=0
pass() {
  local name=$1; shift
  local start status=0
  start=$(date +%s)
  # Run in this run's own directory: schemathesis keeps a cache of past crashes in its working directory, and
  # replaying another run's would make this one depend on it.
  (cd "$work" && "$venv/bin/schemathesis" --config-file "$config" run "$base/docs/json" \
    --max-examples "$max_examples" --seed "$seed" --generation-deterministic \
    --workers 1 --no-color "$@") > "$work/$name.txt" 2>&1 || status=$?
  echo "--- pass \"$name\": exit $status in $(( $(date +%s) - start )) s"
  # The summary: failures per check (if any), the count of cases, the closing line.
  sed -n '/^Failures:/,/^$/p' "$work/$name.txt"
  grep -E '^  [0-9]+ generated' "$work/$name.txt" || true
  tail -1 "$work/$name.txt"
  if [ "$status" != 0 ]; then
    failed=1
    sed -n '/^=* FAILURES =*$/,/^=* WARNINGS =*$/p' "$work/$name.txt" | head -200
  fi
}
pass no-auth
pass player -H "Authorization: Bearer $token"
pass admin -H "Authorization: Bearer $admin_key"

stop_server
trap - EXIT
# Whatever the fuzzer sent, the server logged no error (level 50 and up, pino's JSON lines).
errors=$(grep -cE '"level":(50|60)' "$work/server.log" || true)
echo "server error-level log lines: $errors"
if [ "$errors" != 0 ]; then grep -E '"level":(50|60)' "$work/server.log" | head -20; failed=1; fi
[ "$failed" = 0 ] && echo "schemathesis: 0 failures in three passes" || echo "schemathesis: failures above (logs in $work)"
exit "$failed"
