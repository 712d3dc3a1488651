/**
 * Broker settings shared by the jar path (server.properties written by
 * broker.ts) and docker-compose.kafka.yml (KAFKA_* env vars; compose.spec.ts
 * checks they agree). Listener addresses differ by nature and live in each.
 */
export function sharedBrokerSettings(partitions: number): Record<string, string> {
  return {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    // Single node: without these, consumer groups never get a coordinator and
    // idempotent/transactional producers hang.
    'offsets.topic.replication.factor': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'default.replication.factor': '1',
    // Tests must not wait 3 s at every group join.
    'group.initial.rebalance.delay.ms': '0',
    // Topics are created up front (infra:up / kafka-init), never by a typo.
    'auto.create.topics.enable': 'false',
    'num.partitions': String(partitions),
  };
}

/** Kafka property name → the apache/kafka image's env var (`group.initial.rebalance.delay.ms` → `KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS`). */
export function toKafkaEnvVar(property: string): string {
  return `KAFKA_${property.toUpperCase().replace(/[.-]/g, '_')}`;
}
