#!/usr/bin/env bash
# Builds the MongoDB-wire test server from Maven Central into test/mongo-wire/target (idempotent).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -f target/classes/MongoWireServer.class ]; then
  mvn -q -B dependency:copy-dependencies -DoutputDirectory=target/lib -DincludeScope=runtime
  mkdir -p target/classes
  javac -cp 'target/lib/*' -d target/classes src/main/java/MongoWireServer.java
fi
