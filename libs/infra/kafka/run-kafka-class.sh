#!/usr/bin/env bash
# Runs a class of Apache Kafka (broker + tools jars fetched from Maven Central
# into .local/kafka/<version>/libs) with small-machine JVM options and quiet
# logging (WARN and above, on stderr). Used by bin/kafka-*.sh.
#
# The version is KAFKA_VERSION (environment, else .env in the repository),
# else DEFAULT_KAFKA_VERSION of libs/infra/src/versions.ts — the same choice
# as `npm run infra:up`.
#
# Client security: when KAFKA_SSL* or KAFKA_SASL_* is set (environment, else .env in the repository),
# the tool gets a client config generated from them (scripts/kafka-client-config.ts: the apps' validation,
# security.protocol, sasl.mechanism, sasl.jaas.config, the CA as a PEM trust store; mode 600 in
# .local/kafka/client-config/) through its --client-config option, unless the command line names a config
# file of its own. Relative file paths in those variables are taken from the repository root, as `npm run` does.
#
# usage: libs/infra/kafka/run-kafka-class.sh [--kafka3-class <class>] [--renamed <old>=<new>,...] [--client-config <option>] <main-class> [args...]
#   --kafka3-class  the class to run instead on Kafka 3.x (e.g. kafka.tools.ConsoleProducer)
#   --renamed       options Kafka 4.2 renamed (KIP-1147, e.g. --property=--reader-property):
#                   on 4.2+ the old spelling is passed as the new one (no deprecation warning),
#                   before 4.2 the new spelling as the old one, so users type either.
#   --client-config the tool's option for a client config file (e.g. --command-config, --producer.config)
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
CONFIG_OPTION=""
while [ $# -gt 0 ]; do
  case "$1" in
    --kafka3-class) KAFKA3_CLASS="$2"; shift 2 ;;
    --renamed) RENAMED="$2"; shift 2 ;;
    --client-config) CONFIG_OPTION="$2"; shift 2 ;;
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

# The client config of KAFKA_SSL*/KAFKA_SASL_* (see the top), in this version's spelling of the option.
if [ -n "$CONFIG_OPTION" ]; then
  if [ -n "${SPELLING[$CONFIG_OPTION]+x}" ]; then CONFIG_OPTION="${SPELLING[$CONFIG_OPTION]}"; fi
  own_config=false
  for arg in ${ARGS[@]+"${ARGS[@]}"}; do
    if [ "$arg" = "$CONFIG_OPTION" ] || [ "${arg%%=*}" = "$CONFIG_OPTION" ]; then own_config=true; fi
  done
  security_set=false
  for var in ${!KAFKA_SSL@} ${!KAFKA_SASL_@}; do
    if [ -n "${!var}" ]; then security_set=true; fi
  done
  if [ -f "$ROOT/.env" ] && grep -qE '^[[:space:]]*(export[[:space:]]+)?KAFKA_(SSL|SASL_[A-Z_]+)[A-Z_]*=[^[:space:]#]' "$ROOT/.env"; then security_set=true; fi
  if [ "$own_config" = false ] && [ "$security_set" = true ]; then
    CONFIG_FILE="$(cd "$ROOT" && TS_NODE_TRANSPILE_ONLY=true ./node_modules/.bin/ts-node scripts/kafka-client-config.ts)" || exit 1
    if [ -n "$CONFIG_FILE" ]; then ARGS+=("$CONFIG_OPTION" "$CONFIG_FILE"); fi
  fi
fi

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
