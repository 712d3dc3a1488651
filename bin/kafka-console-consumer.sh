#!/usr/bin/env bash
# Kafka's console consumer: prints a topic's messages to stdout.
# Same flags as Kafka's own bin/kafka-console-consumer.sh (Apache Kafka version: KAFKA_VERSION,
# else the default in libs/infra/src/versions.ts; the jars are fetched on first use). Works from
# any directory. With KAFKA_SSL*/KAFKA_SASL_* set (environment or .env) it connects with the apps' Kafka
# settings (a generated client config), unless given a config file of its own. Both spellings of the options Kafka 4.2 renamed work on every version:
# --property / --formatter-property, --consumer-property / --command-property, --consumer.config / --command-config.
exec "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../libs/infra/kafka/run-kafka-class.sh" \
  --renamed --property=--formatter-property,--consumer-property=--command-property,--consumer.config=--command-config \
  --client-config --consumer.config \
  org.apache.kafka.tools.consumer.ConsoleConsumer "$@"
