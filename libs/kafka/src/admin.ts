import { Kafka, logLevel, type Admin, type KafkaConfig } from 'kafkajs';
import { toKafkaJsConfig, type KafkaConnectionOptions } from './kafka-config';

export interface EnsureTopicsOptions {
  /** Partitions of each topic it creates. */
  partitions: number;
  /** Replication factor of each topic it creates. */
  replicationFactor: number;
}

export interface EnsureTopicsResult {
  /** Topics this call created. */
  created: string[];
  /** Topics that were there already. */
  existing: string[];
  /** Existing topics whose partition count differs from the one asked for (left unchanged). */
  partitionMismatch: { topic: string; partitions: number }[];
}

export interface WaitForKafkaOptions {
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
  /** Pause between attempts (default 250 ms). */
  intervalMs?: number;
  /** Consumer group used to probe the group coordinator (default `__readiness-probe`). */
  probeGroupId?: string;
}

function errorText(e: unknown): string {
  const err = e as { type?: string; message?: string; name?: string };
  return [err?.type, err?.name, err?.message].filter(Boolean).join(': ') || String(e);
}

/** A kafkajs config for short admin probes: our connection settings, fail fast per attempt. */
function probeConfig(conn: KafkaConnectionOptions): KafkaConfig {
  return {
    ...toKafkaJsConfig({ connectionTimeout: 1000, requestTimeout: 10_000, ...conn }),
    retry: { retries: 0, initialRetryTime: 100, maxRetryTime: 1000 },
    // Expected failures while the broker starts (coordinator not available…) are not worth logging.
    logLevel: logLevel.NOTHING,
  };
}

async function withAdmin<T>(config: KafkaConfig, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Kafka(config).admin();
  try {
    await admin.connect();
    return await fn(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Waits until the cluster is usable by our apps: a client can list topics
 * AND a consumer group gets a coordinator (an offset fetch on a probe group,
 * which also makes the broker create `__consumer_offsets`). Retries every
 * failure until the deadline, then throws with the last error.
 */
export async function waitForKafka(conn: KafkaConnectionOptions, opts: WaitForKafkaOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const intervalMs = opts.intervalMs ?? 250;
  const groupId = opts.probeGroupId ?? '__readiness-probe';
  const deadline = Date.now() + timeoutMs;
  const config = probeConfig(conn);
  let lastError = 'no attempt made';
  let stage = 'connect';
  for (;;) {
    try {
      await withAdmin(config, async (admin) => {
        stage = 'list topics';
        await admin.listTopics();
        stage = 'group coordinator';
        await admin.fetchOffsets({ groupId, topics: [] });
      });
      return;
    } catch (e) {
      // Connection refused while starting, GROUP_COORDINATOR_NOT_AVAILABLE while
      // __consumer_offsets is created, COORDINATOR_LOAD_IN_PROGRESS while it loads:
      // all mean "not ready yet", so every failure is retried until the deadline.
      lastError = errorText(e);
    }
    if (Date.now() + intervalMs > deadline) {
      throw new Error(
        `Kafka at ${conn.brokers.join(',')} not ready after ${timeoutMs} ms (stuck at: ${stage}; last error: ${lastError})`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
    stage = 'connect';
  }
}

/**
 * Creates the topics that do not exist yet (idempotent; a concurrent
 * creator is fine). Existing topics are left as they are; a partition count
 * different from the requested one is reported, not changed (adding
 * partitions would move keys to other partitions).
 */
export async function ensureTopics(
  conn: KafkaConnectionOptions,
  topics: readonly string[],
  { partitions, replicationFactor }: EnsureTopicsOptions,
): Promise<EnsureTopicsResult> {
  return withAdmin(toKafkaJsConfig(conn), async (admin) => {
    const present = new Set(await admin.listTopics());
    const missing = [...new Set(topics)].filter((t) => !present.has(t));
    const created: string[] = [];
    if (missing.length > 0) {
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor })),
        });
      } catch (e) {
        // Another process created some of them meanwhile: fine, anything else is not.
        if (!/TOPIC_ALREADY_EXISTS|already exists/i.test(errorText(e))) throw e;
      }
      const after = new Set(await admin.listTopics());
      for (const t of missing) {
        if (!after.has(t)) throw new Error(`topic ${t} was not created`);
        created.push(t);
      }
    }
    const existing = topics.filter((t) => present.has(t));
    const partitionMismatch: EnsureTopicsResult['partitionMismatch'] = [];
    if (existing.length > 0) {
      const { topics: meta } = await admin.fetchTopicMetadata({ topics: existing });
      for (const t of meta) {
        if (t.partitions.length !== partitions) partitionMismatch.push({ topic: t.name, partitions: t.partitions.length });
      }
    }
    return { created, existing, partitionMismatch };
  });
}

/** Names of the topics the cluster has. */
export async function listTopics(conn: KafkaConnectionOptions): Promise<string[]> {
  const admin = new Kafka(toKafkaJsConfig(conn)).admin();
  try {
    await admin.connect();
    return await admin.listTopics();
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
