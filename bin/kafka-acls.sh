#!/usr/bin/env bash
# Kafka's ACL tool: list, add and remove the ACLs of a secured broker (npm run infra:up -- --secure),
# e.g. as the admin principal (--command-config .local/kafka/secure/secure/admin.properties, or its settings in .env).
# Same flags as Kafka's own bin/kafka-acls.sh (Apache Kafka version: KAFKA_VERSION, else the default in
# libs/infra/src/versions.ts; the jars are fetched on first use). Works from any directory.
# With KAFKA_SSL*/KAFKA_SASL_* set (environment or .env) it connects with the apps' Kafka settings (a generated
# client config), unless given a config file of its own.
exec "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../libs/infra/kafka/run-kafka-class.sh" \
  --kafka3-class kafka.admin.AclCommand --client-config --command-config \
  org.apache.kafka.tools.AclCommand "$@"
