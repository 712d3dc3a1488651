#!/usr/bin/env bash
# Runs a class of the pinned Apache Kafka (broker + tools jars fetched from
# Maven Central into .local/kafka/<version>/libs) with small-machine JVM
# options and quiet logging (WARN and above, on stderr). Used by bin/kafka-*.sh.
# usage: libs/infra/kafka/run-kafka-class.sh <main-class> [args passed through unchanged...]
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../.." && pwd)"
VERSION="$(sed -n "s/^export const KAFKA_VERSION = '\([^']*\)';.*/\1/p" "$ROOT/libs/infra/src/versions.ts")"
if [ -z "$VERSION" ]; then
  echo "kafka: cannot read KAFKA_VERSION from $ROOT/libs/infra/src/versions.ts" >&2
  exit 1
fi
LIBS="$ROOT/.local/kafka/$VERSION/libs"
if ! command -v java >/dev/null 2>&1; then
  echo "kafka: java not found on PATH; install a JDK 17+ (e.g. apt-get install openjdk-17-jre-headless)" >&2
  exit 1
fi
if [ ! -f "$LIBS/.complete" ]; then
  echo "kafka: Apache Kafka $VERSION jars missing; fetching them once with Maven..." >&2
  if ! (cd "$ROOT" && ./node_modules/.bin/ts-node scripts/infra.ts fetch) >&2; then
    echo "kafka: could not fetch the Kafka jars; see above, then run: npm run infra:fetch" >&2
    exit 1
  fi
fi
MAIN_CLASS="$1"
shift
# shellcheck disable=SC2086 # KAFKA_OPTS holds several JVM options on purpose
exec java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
  -Dlog4j.configuration="file:$ROOT/libs/infra/kafka/tools-log4j.properties" \
  ${KAFKA_OPTS:-} \
  -cp "$LIBS/*" "$MAIN_CLASS" "$@"
