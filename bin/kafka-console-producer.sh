#!/usr/bin/env bash
# Kafka's console producer: reads lines from stdin and sends them to a topic.
# Same flags as Kafka's own bin/kafka-console-producer.sh (Apache Kafka version pinned in
# libs/infra/src/versions.ts; the jars are fetched on first use). Works from any directory.
exec "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../libs/infra/kafka/run-kafka-class.sh" kafka.tools.ConsoleProducer "$@"
