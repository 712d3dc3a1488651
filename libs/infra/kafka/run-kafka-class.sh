#!/usr/bin/env bash
# Runs a class of Apache Kafka (broker + tools jars fetched from Maven Central
# into .local/kafka/<version>/libs) with small-machine JVM options and quiet
# logging (WARN and above, on stderr). Used by bin/kafka-*.sh.
#
# The version is KAFKA_VERSION (environment, else .env in the repository),
# else DEFAULT_KAFKA_VERSION of libs/infra/src/versions.ts — the same choice
# as `npm run infra:up`.
#
# usage: libs/infra/kafka/run-kafka-class.sh [--kafka3-class <class>] [--renamed <old>=<new>,...] <main-class> [args...]
#   --kafka3-class  the class to run instead on Kafka 3.x (e.g. kafka.tools.ConsoleProducer)
#   --renamed       options Kafka 4.2 renamed (KIP-1147, e.g. --property=--reader-property):
#                   on 4.2+ the old spelling is passed as the new one (no deprecation warning),
#                   before 4.2 the new spelling as the old one, so users type either.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../.." && pwd)"

VERSION="${KAFKA_VERSION:-}"
if [ -z "$VERSION" ] && [ -f "$ROOT/.env" ]; then
  VERSION="$(sed -n 's/^KAFKA_VERSION=\([0-9.]*\).*/\1/p' "$ROOT/.env" | tail -1)"
fi
if [ -z "$VERSION" ]; then
  VERSION="$(sed -n "s/^export const DEFAULT_KAFKA_VERSION = '\([^']*\)';.*/\1/p" "$ROOT/libs/infra/src/versions.ts")"
fi
if ! [[ "$VERSION" =~ ^([0-9]+)\.([0-9]+)\.[0-9]+$ ]]; then
  echo "kafka: cannot tell the Kafka version (KAFKA_VERSION='${KAFKA_VERSION:-}', DEFAULT_KAFKA_VERSION in $ROOT/libs/infra/src/versions.ts)" >&2
  exit 1
fi
MAJOR="${BASH_REMATCH[1]}"
MINOR="${BASH_REMATCH[2]}"

KAFKA3_CLASS=""
RENAMED=""
while [ $# -gt 0 ]; do
  case "$1" in
    --kafka3-class) KAFKA3_CLASS="$2"; shift 2 ;;
    --renamed) RENAMED="$2"; shift 2 ;;
    *) break ;;
  esac
done
MAIN_CLASS="$1"
shift
if [ "$MAJOR" -lt 4 ] && [ -n "$KAFKA3_CLASS" ]; then MAIN_CLASS="$KAFKA3_CLASS"; fi

# Option spellings: from -> to, depending on the version.
declare -A SPELLING=()
if [ -n "$RENAMED" ]; then
  IFS=',' read -r -a PAIRS <<<"$RENAMED"
  for pair in "${PAIRS[@]}"; do
    old="${pair%%=*}"
    new="${pair#*=}"
    if [ "$MAJOR" -gt 4 ] || { [ "$MAJOR" -eq 4 ] && [ "$MINOR" -ge 2 ]; }; then SPELLING["$old"]="$new"; else SPELLING["$new"]="$old"; fi
  done
fi
ARGS=()
for arg in "$@"; do
  name="${arg%%=*}"
  if [ -n "${SPELLING[$name]+x}" ]; then
    if [ "$name" = "$arg" ]; then arg="${SPELLING[$name]}"; else arg="${SPELLING[$name]}=${arg#*=}"; fi
  fi
  ARGS+=("$arg")
done

LIBS="$ROOT/.local/kafka/$VERSION/libs"
if ! command -v java >/dev/null 2>&1; then
  echo "kafka: java not found on PATH; install a JDK 17+ (e.g. apt-get install openjdk-17-jre-headless)" >&2
  exit 1
fi
if [ ! -f "$LIBS/.complete" ]; then
  echo "kafka: Apache Kafka $VERSION jars missing; fetching them once with Maven..." >&2
  if ! (cd "$ROOT" && KAFKA_VERSION="$VERSION" ./node_modules/.bin/ts-node scripts/infra.ts fetch) >&2; then
    echo "kafka: could not fetch the Kafka jars; see above, then run: npm run infra:fetch" >&2
    exit 1
  fi
fi
# Both logging configs are named: 3.x reads log4j.configuration (reload4j), 4.x log4j2.configurationFile.
# shellcheck disable=SC2086 # KAFKA_OPTS holds several JVM options on purpose
exec java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
  -Dlog4j.configuration="file:$ROOT/libs/infra/kafka/tools-log4j.properties" \
  -Dlog4j2.configurationFile="$ROOT/libs/infra/kafka/tools-log4j2.properties" \
  ${KAFKA_OPTS:-} \
  -cp "$LIBS/*" "$MAIN_CLASS" ${ARGS[@]+"${ARGS[@]}"}
