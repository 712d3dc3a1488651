#!/usr/bin/env bash
# The broker of the "secure" profile of docker-compose.kafka.yml (kafka-secure):
# the secured broker of `npm run infra:up -- --secure` (libs/infra/src/secure-broker.ts)
# in the apache/kafka image. server.properties = the KAFKA_* variables of the
# service (the settings shared with every local broker, libs/infra/src/broker-settings.ts)
# plus the security settings below; the storage is formatted once, with the
# SCRAM-SHA-512 users (`kafka-storage format --add-scram`), then the broker runs.
# usage: start.sh <material dir of kafka-secure-setup> <data dir>
set -euo pipefail
SECURE="$1"
DATA="$2"
KAFKA_BIN="${KAFKA_BIN:-/opt/kafka/bin}"
PORT="${SECURE_PORT:-9192}"
CONTROLLER_PORT="${SECURE_CONTROLLER_PORT:-9093}"
# shellcheck disable=SC1091 # written by setup.sh
. "$SECURE/credentials.env"
PROPS="$(mktemp -d)/server.properties"
{
  echo "# Written by docker/kafka-secure/start.sh at each start."
  # KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS -> group.initial.rebalance.delay.ms (the image's own rule)
  env | grep -E '^KAFKA_CFG_' | sort | while IFS='=' read -r name value; do
    echo "$(echo "${name#KAFKA_CFG_}" | tr '[:upper:]' '[:lower:]' | tr '_' '.')=$value"
  done
  cat <<PROPS
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
log.dirs=$DATA
listeners=SASL_SSL://:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=SASL_SSL://localhost:$PORT
listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
inter.broker.listener.name=SASL_SSL
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$ADMIN_PASSWORD";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$ADMIN_PASSWORD" user_admin="$ADMIN_PASSWORD";
ssl.keystore.type=PKCS12
ssl.keystore.location=$SECURE/broker.p12
ssl.keystore.password=$STORE_PASSWORD
ssl.key.password=$STORE_PASSWORD
ssl.truststore.type=PKCS12
ssl.truststore.location=$SECURE/truststore.p12
ssl.truststore.password=$STORE_PASSWORD
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=false
PROPS
} > "$PROPS"
SCRAM=()
for p in admin order payment notification; do
  var="$(echo "$p" | tr '[:lower:]' '[:upper:]')_PASSWORD"
  SCRAM+=(--add-scram "SCRAM-SHA-512=[name=$p,password=${!var}]")
done
if [ ! -f "$DATA/meta.properties" ]; then
  "$KAFKA_BIN/kafka-storage.sh" format -t "${CLUSTER_ID:?CLUSTER_ID is not set}" -c "$PROPS" --ignore-formatted "${SCRAM[@]}"
fi
exec "$KAFKA_BIN/kafka-server-start.sh" "$PROPS"
