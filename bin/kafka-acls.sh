#!/usr/bin/env bash
# Kafka's ACL tool: list, add and remove the ACLs of a secured broker (npm run infra:up -- --secure),
# as the admin principal (--command-config .local/kafka/secure/secure/admin.properties).
# Same flags as Kafka's own bin/kafka-acls.sh (Apache Kafka version: KAFKA_VERSION, else the default in
# libs/infra/src/versions.ts; the jars are fetched on first use). Works from any directory.
exec "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../libs/infra/kafka/run-kafka-class.sh" \
  --kafka3-class kafka.admin.AclCommand \
  org.apache.kafka.tools.AclCommand "$@"
