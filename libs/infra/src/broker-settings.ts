/**
 * Broker settings shared by the jar path (server.properties written by
 * broker.ts) and docker-compose.kafka.yml (KAFKA_* env vars; compose.spec.ts
 * checks they agree), for a single node (`nodes` = 1) or a cluster.
 * Listener addresses, node ids and voters differ by nature and live in each.
 */
export function sharedBrokerSettings(partitions: number, nodes = 1): Record<string, string> {
  const { replicationFactor, minInSyncReplicas } = replicationFor(nodes);
  return {
    'process.roles': 'broker,controller',
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    // Internal topics replicated like the contract topics. On a single node,
    // anything above 1 means consumer groups never get a coordinator and
    // idempotent/transactional producers hang.
    'offsets.topic.replication.factor': String(replicationFactor),
    'transaction.state.log.replication.factor': String(replicationFactor),
    'transaction.state.log.min.isr': String(minInSyncReplicas),
    'default.replication.factor': String(replicationFactor),
    'min.insync.replicas': String(minInSyncReplicas),
    // Tests must not wait 3 s at every group join.
    'group.initial.rebalance.delay.ms': '0',
    // Topics are created up front (infra:up / kafka-init), never by a typo.
    'auto.create.topics.enable': 'false',
    'num.partitions': String(partitions),
  };
}

export interface Replication {
  /** Copies of each partition: 1 on a single node, 3 on a cluster of 3 or more. */
  replicationFactor: number;
  /**
   * `min.insync.replicas`: with acks=-1 (our producers) a write is
   * acknowledged once this many replicas have it, so one broker of three can
   * die without losing an acknowledged message or stopping writes.
   */
  minInSyncReplicas: number;
}

/** Replication of the contract and internal topics on a cluster of `nodes` brokers. */
export function replicationFor(nodes: number): Replication {
  const replicationFactor = Math.max(1, Math.min(3, nodes));
  return { replicationFactor, minInSyncReplicas: replicationFactor >= 3 ? 2 : 1 };
}

/** Topic-level configs of the contract topics on a cluster of `nodes` brokers (set explicitly, whatever the broker default). */
export function contractTopicConfigs(nodes: number): Record<string, string> {
  return { 'min.insync.replicas': String(replicationFor(nodes).minInSyncReplicas) };
}

/**
 * `KAFKA_DLQ_RETENTION_MS`: how long a dead-letter topic keeps a message;
 * default -1 (unlimited): a dead letter waits for a person, not for a clock.
 */
export function deadLetterRetentionMs(env: NodeJS.ProcessEnv = process.env): string {
  return retentionSetting(env, 'KAFKA_DLQ_RETENTION_MS', '-1');
}

/** The broker's own default (`log.retention.hours=168`), stated explicitly. */
export const DEFAULT_EVENT_RETENTION_MS = String(7 * 24 * 3600 * 1000);

/**
 * `KAFKA_EVENT_RETENTION_MS`: how long an event topic keeps a message;
 * default 604800000 (7 days, Kafka's default). Consumers that are down for
 * longer than this lose events: the outbox rows remain the record.
 */
export function eventRetentionMs(env: NodeJS.ProcessEnv = process.env): string {
  return retentionSetting(env, 'KAFKA_EVENT_RETENTION_MS', DEFAULT_EVENT_RETENTION_MS);
}

function retentionSetting(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || (n < 1 && n !== -1)) throw new Error(`${name} must be -1 (unlimited) or a positive number of milliseconds, got "${raw}"`);
  return String(n);
}

/**
 * Every topic-level config infra:up sets on a contract topic: the contract
 * topics' min ISR, and the retention of its kind (dead-letter or event).
 */
export function topicConfigsFor(topic: string, nodes: number, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const retention = topic.endsWith('.dlq') ? deadLetterRetentionMs(env) : eventRetentionMs(env);
  return { ...contractTopicConfigs(nodes), 'retention.ms': retention };
}

/** Kafka property name → the apache/kafka image's env var (`group.initial.rebalance.delay.ms` → `KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS`). */
export function toKafkaEnvVar(property: string): string {
  return `KAFKA_${property.toUpperCase().replace(/[.-]/g, '_')}`;
}
