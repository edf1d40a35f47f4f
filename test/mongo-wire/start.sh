#!/usr/bin/env bash
# Starts the MongoDB-wire test server on 127.0.0.1:${1:-27017} in the foreground, with trim-oplog.mjs keeping
# its oplog to the last 20 s (OPLOG_KEEP_MS). Stopping this script (TERM, INT) stops both.
set -euo pipefail
cd "$(dirname "$0")"
port="${1:-27017}"
java -Xmx2g -cp 'target/classes:target/lib/*' MongoWireServer 127.0.0.1 "$port" &
java_pid=$!
trap 'kill "$java_pid" 2>/dev/null || true' TERM INT EXIT
node trim-oplog.mjs "$port" "$java_pid" &
wait "$java_pid"
