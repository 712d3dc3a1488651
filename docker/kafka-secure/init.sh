#!/usr/bin/env bash
# One-shot of the "secure" profile of docker-compose.kafka.yml (kafka-secure-init),
# as the admin principal: creates the contract topics ($TOPICS) and the per-app
# ACLs ($ACLS: `principal:operation:resource:name` — the list of
# libs/infra/src/secure-broker.ts APP_ACLS, which libs/infra/test/compose.spec.ts
# holds it to), then lists them.
# usage: init.sh <material dir of kafka-secure-setup>
set -euo pipefail
SECURE="$1"
KAFKA_BIN="${KAFKA_BIN:-/opt/kafka/bin}"
# shellcheck disable=SC1091 # written by setup.sh
. "$SECURE/credentials.env"
ADMIN="$(mktemp -d)/admin.properties"
cat > "$ADMIN" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$ADMIN_PASSWORD";
ssl.truststore.type=PEM
ssl.truststore.location=$SECURE/ca.pem
PROPS
for topic in $TOPICS; do
  "$KAFKA_BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN" --create --if-not-exists \
    --topic "$topic" --partitions "$PARTITIONS" --replication-factor 1
done
for acl in $ACLS; do
  IFS=':' read -r principal operation resource name <<<"$acl"
  "$KAFKA_BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN" --add \
    --allow-principal "User:$principal" --operation "$operation" "--$resource" "$name" >/dev/null
done
"$KAFKA_BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN" --list
