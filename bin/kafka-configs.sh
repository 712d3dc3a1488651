#!/usr/bin/env bash
# Kafka's config tool: describe and alter topic, broker and client configs
# (e.g. --describe --entity-type topics --entity-name payment.dlq).
# Same flags as Kafka's own bin/kafka-configs.sh (Apache Kafka version: KAFKA_VERSION, else the default in
# libs/infra/src/versions.ts; the jars are fetched on first use). Works from any directory.
# With KAFKA_SSL*/KAFKA_SASL_* set (environment or .env) it connects with the apps' Kafka settings (a generated
# client config), unless given a config file of its own.
exec "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../libs/infra/kafka/run-kafka-class.sh" --kafka3-class kafka.admin.ConfigCommand --client-config --command-config org.apache.kafka.tools.ConfigCommand "$@"
