import { ConfigResourceTypes, Kafka, logLevel, type Admin, type DescribeConfigResponse, type KafkaConfig, type ResourceConfigQuery } from 'kafkajs';
import { toKafkaJsConfig, type KafkaConnectionOptions } from './kafka-config';

export interface EnsureTopicsOptions {
  /** Partitions of each topic it creates. */
  partitions: number;
  /** Replication factor of each topic it creates. */
  replicationFactor: number;
  /** Topic configs of each topic it creates, e.g. `{ 'min.insync.replicas': '2' }`. */
  configs?: Record<string, string>;
  /** Deadline for the new topics' partitions to have leaders (default 60 s). */
  leaderTimeoutMs?: number;
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
  /** Also wait until the cluster has this many brokers registered (a cluster, after a start). */
  brokers?: number;
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

/**
 * A kafkajs config for one-off admin calls of infra and tests: our connection
 * settings and kafkajs's retries (a dead seed broker is skipped for the next
 * one), quiet, because callers report failures themselves.
 */
function quietConfig(conn: KafkaConnectionOptions): KafkaConfig {
  return { ...toKafkaJsConfig(conn), logLevel: logLevel.NOTHING };
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
        if (opts.brokers !== undefined) {
          stage = `${opts.brokers} brokers registered`;
          const { brokers } = await admin.describeCluster();
          if (brokers.length < opts.brokers) throw new Error(`${brokers.length} of ${opts.brokers} brokers registered`);
        }
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
      throw new Error(`Kafka at ${conn.brokers.join(',')} not ready after ${timeoutMs} ms (stuck at: ${stage}; last error: ${lastError})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
    stage = 'connect';
  }
}

/**
 * Waits until every partition of `topics` has a leader that answers for its
 * offsets, polling metadata.
 * kafkajs's own `createTopics({ waitForLeaders: true })` retries only
 * LEADER_NOT_AVAILABLE; on KRaft a broker that has not yet applied the new
 * topic's metadata answers UNKNOWN_TOPIC_OR_PARTITION, which it throws
 * (tulios/kafkajs#1563, #1222). Every failure is retried until the deadline.
 */
async function waitForLeaders(admin: Admin, topics: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no metadata yet';
  for (;;) {
    try {
      const { topics: meta } = await admin.fetchTopicMetadata({ topics });
      const leaderless = meta.flatMap((t) => t.partitions.filter((p) => p.leader < 0).map((p) => `${t.name}[${p.partitionId}]`));
      if (meta.length === topics.length && leaderless.length === 0) {
        // A leader in the metadata may not serve its partitions yet (NOT_LEADER_OR_FOLLOWER for a
        // moment after the topic is created): each must answer for its offsets.
        for (const topic of topics) await admin.fetchTopicOffsets(topic);
        return;
      }
      last = leaderless.length > 0 ? `no leader for ${leaderless.slice(0, 5).join(', ')}` : 'topics missing from metadata';
    } catch (e) {
      last = errorText(e);
    }
    if (Date.now() > deadline) throw new Error(`partitions of ${topics.join(', ')} have no leader after ${timeoutMs} ms (${last})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits until every partition of `topics` has a leader (see ensureTopics), e.g. after a broker came back. */
export async function waitForTopicLeaders(conn: KafkaConnectionOptions, topics: readonly string[], timeoutMs = 60_000): Promise<void> {
  await withAdmin(quietConfig(conn), (admin) => waitForLeaders(admin, [...topics], timeoutMs));
}

/**
 * Creates the topics that do not exist yet (idempotent; a concurrent
 * creator is fine) and waits until their partitions have leaders. Existing
 * topics are left as they are; a partition count different from the
 * requested one is reported, not changed (adding partitions would move keys
 * to other partitions).
 */
export async function ensureTopics(
  conn: KafkaConnectionOptions,
  topics: readonly string[],
  { partitions, replicationFactor, configs = {}, leaderTimeoutMs = 60_000 }: EnsureTopicsOptions,
): Promise<EnsureTopicsResult> {
  return withAdmin(toKafkaJsConfig(conn), async (admin) => {
    const present = new Set(await admin.listTopics());
    const missing = [...new Set(topics)].filter((t) => !present.has(t));
    const created: string[] = [];
    if (missing.length > 0) {
      try {
        await admin.createTopics({
          waitForLeaders: false, // see waitForLeaders below
          topics: missing.map((topic) => ({
            topic,
            numPartitions: partitions,
            replicationFactor,
            configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
          })),
        });
      } catch (e) {
        // Another process created some of them meanwhile: fine, anything else is not.
        if (!/TOPIC_ALREADY_EXISTS|already exists/i.test(errorText(e))) throw e;
      }
      // Polled rather than listed once: on a cluster the broker asked may not have applied the new
      // topics yet. A quiet client: kafkajs logs each of those expected answers as a warning.
      await withAdmin(quietConfig(conn), (quiet) => waitForLeaders(quiet, missing, leaderTimeoutMs));
      created.push(...missing);
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

/** A partition as the cluster's metadata describes it. */
export interface PartitionInfo {
  topic: string;
  partition: number;
  /** Node id of the leader, -1 while it has none. */
  leader: number;
  replicas: number[];
  isr: number[];
}

/** Leader, replicas and in-sync replicas of every partition of `topics`, from the cluster's metadata. */
export async function describePartitions(conn: KafkaConnectionOptions, topics: readonly string[]): Promise<PartitionInfo[]> {
  return withAdmin(quietConfig(conn), async (admin) => {
    const { topics: meta } = await admin.fetchTopicMetadata({ topics: [...topics] });
    return meta.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr })));
  });
}

/** Configs of a topic as the broker reports them (set explicitly or inherited), e.g. `min.insync.replicas`. */
export async function describeTopicConfigs(conn: KafkaConnectionOptions, topic: string, names: string[]): Promise<Record<string, string>> {
  return withAdmin(quietConfig(conn), async (admin) => {
    const resources = await describeConfigsRetrying(admin, [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: names }]);
    return Object.fromEntries((resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]));
  });
}

/**
 * DescribeConfigs of topics. kafkajs sends it to any broker and retries only
 * NOT_CONTROLLER; on a KRaft cluster a broker that has not yet applied a new
 * topic's metadata answers with a retriable error such as
 * UNKNOWN_TOPIC_OR_PARTITION (as for metadata, see waitForLeaders; seen once
 * in CI right after the contract topics were created), so retriable answers
 * are retried until the deadline.
 */
async function describeConfigsRetrying(admin: Admin, resources: ResourceConfigQuery[], timeoutMs = 30_000): Promise<DescribeConfigResponse['resources']> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return (await admin.describeConfigs({ includeSynonyms: false, resources })).resources;
    } catch (e) {
      if ((e as { retriable?: unknown }).retriable !== true || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Sets configuration entries of existing topics (the entries named; the others set before stay). */
export async function alterTopicConfigs(conn: KafkaConnectionOptions, topics: readonly string[], configs: Record<string, string>): Promise<void> {
  await reconcileTopicConfigs(conn, Object.fromEntries(topics.map((topic) => [topic, configs])));
}

/**
 * Makes the topic-level configs of existing topics match `wanted` (topic →
 * name → value). AlterConfigs replaces a topic's whole set of dynamic
 * configs, so the configs already set on the topic are read first and kept;
 * a topic that already matches is left alone. Returns the topics it changed.
 */
export async function reconcileTopicConfigs(conn: KafkaConnectionOptions, wanted: Record<string, Record<string, string>>): Promise<string[]> {
  const topics = Object.keys(wanted);
  if (topics.length === 0) return [];
  return withAdmin(quietConfig(conn), async (admin) => {
    const resources = await describeConfigsRetrying(
      admin,
      topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
    );
    const changes = [];
    for (const r of resources) {
      // configSource 1 = DYNAMIC_TOPIC_CONFIG: set on the topic itself (what AlterConfigs replaces).
      const current = Object.fromEntries(r.configEntries.filter((e) => Number(e.configSource) === 1).map((e) => [e.configName, e.configValue]));
      const want = wanted[r.resourceName] ?? {};
      if (Object.entries(want).every(([name, value]) => current[name] === value)) continue;
      const merged = { ...current, ...want };
      changes.push({
        type: ConfigResourceTypes.TOPIC,
        name: r.resourceName,
        configEntries: Object.entries(merged).map(([name, value]) => ({ name, value })),
      });
    }
    if (changes.length > 0) await admin.alterConfigs({ validateOnly: false, resources: changes });
    return changes.map((c) => c.name);
  });
}

/** Number of brokers registered in the cluster (describeCluster). */
export async function countBrokers(conn: KafkaConnectionOptions): Promise<number> {
  return withAdmin(quietConfig(conn), async (admin) => (await admin.describeCluster()).brokers.length);
}

/** First (low) and next (high) offset of every partition of `topic`: the records it holds are [low, high). */
export async function topicOffsetRanges(conn: KafkaConnectionOptions, topic: string): Promise<{ partition: number; low: number; high: number }[]> {
  return withAdmin(quietConfig(conn), async (admin) =>
    (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, low: Number(p.low), high: Number(p.high) })),
  );
}
