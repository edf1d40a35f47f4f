#!/usr/bin/env bash
# Starts the MongoDB-wire test server on 127.0.0.1:${1:-27017} in the foreground.
set -euo pipefail
cd "$(dirname "$0")"
exec java -Xmx2g -cp 'target/classes:target/lib/*' MongoWireServer 127.0.0.1 "${1:-27017}"
