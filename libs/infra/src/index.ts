/**
 * Local infrastructure: a real Apache Kafka broker (jars from Maven Central,
 * started with java; or docker-compose.kafka.yml with INFRA_MODE=docker) and
 * the apps' PostgreSQL databases. `npm run infra:up|down|status|fetch`.
 */
import * as fs from 'node:fs';
import { ALL_TOPICS, DEAD_LETTER_TOPICS, EVENT_TOPICS } from '@lib/events/topics';
import { countBrokers, ensureTopics, listTopics, reconcileTopicConfigs, waitForKafka } from '@lib/kafka/admin';
import { MAIN_BROKER, brokerPid, brokerPorts, knownBrokers, runningVersion, startBroker, stopBroker } from './broker';
import { DEFAULT_CONSOLE_URL } from '@lib/dead-letters/console-state';
import { AppBacklog, appBacklogs } from './app-backlog';
import { replicationFor, topicConfigsFor } from './broker-settings';
import { MAIN_CLUSTER, clusterLogs, localActiveController, runningClusterNodes, startCluster } from './cluster';
import { mainPort, clusterSize, databaseUrls, infraKafkaConnection, isLocalMainBroker, kafkaBrokers, localBootstrap, topicPartitions } from './config';
import { compose, dockerRequested, dockerUsable } from './docker';
import { isKafkaFetched } from './kafka-dist';
import { brokerPaths } from './paths';
import { databaseExists, ensureDatabases, parseDatabaseUrl, redact } from './postgres';
import { InfraError, Logger, consoleLogger, isPortOpen } from './util';
import { kafkaVersion } from './versions';

export { DEFAULT_KAFKA_VERSION, KAFKA_3_VERSION, kafkaVersion } from './versions';
export { fetchKafka, kafkaToolsClasspath, isKafkaFetched } from './kafka-dist';
export { startBroker, stopBroker, isBrokerRunning, brokerPid, MAIN_BROKER } from './broker';
export type { StartBrokerOptions, BrokerInfo } from './broker';
export { startCluster, stopCluster, MAIN_CLUSTER, CLUSTER_NODE_JVM_OPTS } from './cluster';
export type { StartClusterOptions, KafkaCluster, ClusterNode } from './cluster';
export { replicationFor, contractTopicConfigs, topicConfigsFor, deadLetterRetentionMs, eventRetentionMs } from './broker-settings';
export type { Replication } from './broker-settings';
export { waitForKafka, ensureTopics, reconcileTopicConfigs, waitForTopicLeaders, describePartitions, describeTopicConfigs } from '@lib/kafka/admin';
export { ensureDatabases, createDatabase, dropDatabase, databaseExists, ensurePostgresRunning } from './postgres';
export {
  kafkaBrokers,
  topicPartitions,
  databaseUrls,
  infraKafkaConnection,
  toolKafkaConnection,
  loadDotEnv,
  clusterSize,
  parseClusterSize,
  localBootstrap,
  mainPort,
} from './config';
export { InfraError, isPidAlive } from './util';
export type { Logger } from './util';
export { REPO_ROOT } from './paths';
export * from './poll';
export * from './database-roles';
export * from './secure-broker';
export * from './client-properties';
export { migrationDatabaseUrl, DEFAULT_MIGRATION_DATABASE_URLS } from './config';
export * from './cli';
export * from './node-process';
export * from './app-process';

export interface InfraUpOptions {
  /** Where progress lines go (default console.log). */
  log?: Logger;
  /** Deadline for Kafka readiness (default 90 s, 120 s for a cluster). */
  timeoutMs?: number;
  /**
   * Nodes of the local Kafka (`--brokers N`; default KAFKA_CLUSTER_SIZE,
   * else whatever local Kafka runs, else 1).
   */
  brokers?: number;
}

export interface InfraUpResult {
  mode: 'jar' | 'docker' | 'external';
  brokers: string[];
  /** Brokers in the cluster (1 for the single local broker). */
  nodes: number;
  /** Kafka version of the local broker(s), when infra runs them. */
  version?: string;
  /** True when this call started the broker (false: it was running already). */
  startedBroker: boolean;
  createdTopics: string[];
  createdDatabases: string[];
}

/** A healthy Kafka is already answering on `brokers` (quick check). */
async function kafkaAnswers(brokers: string[], timeoutMs: number): Promise<boolean> {
  const connection = infraKafkaConnection(brokers); // outside the try: bad settings are an error of their own, not "Kafka not ready"
  try {
    await waitForKafka(connection, { timeoutMs });
    return true;
  } catch {
    return false;
  }
}

/** Nodes in the voter set of a local node (from its properties file). */
function votersOf(node: string): number {
  const p = brokerPaths(node);
  try {
    const m = /^controller\.quorum\.voters=(.*)$/m.exec(fs.readFileSync(p.propsFile, 'utf8'));
    return m ? m[1].split(',').length : 1;
  } catch {
    return 1;
  }
}

/** The local Kafka infra:up started and that still runs: the single broker or the cluster. */
function runningLocalKafka(): { nodes: number; version?: string; running: number } | undefined {
  const single = brokerPid(MAIN_BROKER);
  if (single !== undefined) return { nodes: 1, version: runningVersion(single), running: 1 };
  const cluster = runningClusterNodes(MAIN_CLUSTER);
  if (cluster.length === 0) return undefined;
  return { nodes: votersOf(cluster[0].name), version: runningVersion(cluster[0].pid), running: cluster.length };
}

const describeKafka = (nodes: number) => (nodes === 1 ? 'the single local broker' : `the local ${nodes}-node cluster`);

/**
 * Brings up Kafka (KAFKA_BROKERS, default localhost:9092), the contract
 * topics and the app databases. Idempotent: with a healthy broker running it
 * only checks topics and databases. `brokers: 3` (or KAFKA_CLUSTER_SIZE=3)
 * starts a three-node cluster on 9092/9094/9096 instead of the single broker
 * and creates the topics with replication factor 3 and min ISR 2.
 */
export async function infraUp(opts: InfraUpOptions = {}): Promise<InfraUpResult> {
  const log = opts.log ?? consoleLogger;
  const brokers = kafkaBrokers();
  const partitions = topicPartitions();
  const requestedNodes = opts.brokers ?? clusterSize();
  const port = mainPort();
  const version = kafkaVersion();
  const versionAsked = !!process.env.KAFKA_VERSION?.trim();
  let timeoutMs = opts.timeoutMs ?? 90_000;
  let mode: InfraUpResult['mode'] = 'jar';
  let startedBroker = false;
  let nodes = requestedNodes ?? 1;
  let runsVersion: string | undefined = version;

  if (!isLocalMainBroker(brokers)) {
    mode = 'external';
    log(`kafka: KAFKA_BROKERS=${brokers.join(',')} is not the local broker; using it as is`);
    try {
      await waitForKafka(infraKafkaConnection(brokers), { timeoutMs: Math.min(timeoutMs, 30_000) });
    } catch (e) {
      throw new InfraError(`Kafka at ${brokers.join(',')} is not reachable (${(e as Error).message}); infra:up starts a broker only for localhost:${port}`);
    }
    nodes = await countBrokers(infraKafkaConnection(brokers));
    runsVersion = undefined;
  } else if (dockerRequested() && dockerUsable()) {
    mode = 'docker';
    if (nodes !== 1 && nodes !== 3)
      throw new InfraError(`docker-compose.kafka.yml has a single broker and a 3-node cluster (profile "cluster"), not ${nodes} nodes`);
    // The cluster profile's services, named: `kafka` (the single broker) would take port 9092 too.
    compose(nodes === 3 ? ['--profile', 'cluster', 'up', '-d', 'kafka-cluster-init', 'postgres'] : ['up', '-d'], log);
    await waitForKafka(infraKafkaConnection(localBootstrap(nodes)), { timeoutMs, brokers: nodes });
  } else {
    if (dockerRequested()) log('docker: INFRA_MODE=docker but no usable Docker engine (`docker info` fails); using the jar path');
    const running = runningLocalKafka();
    if (running) {
      // Without an explicit choice, keep what runs: a second `infra:up` (or a test run's global setup) must not fail.
      nodes = requestedNodes ?? running.nodes;
      if (running.nodes !== nodes) {
        throw new InfraError(
          `${describeKafka(running.nodes)} runs on localhost:${port}, but ${describeKafka(nodes)} was asked for; run \`npm run infra:down\` first to switch`,
        );
      }
      if (versionAsked && running.version && running.version !== version) {
        throw new InfraError(
          `${describeKafka(running.nodes)} runs Kafka ${running.version}, but KAFKA_VERSION=${version}; run \`npm run infra:down\` first to switch`,
        );
      }
      runsVersion = running.version ?? version;
    }
    if (!running && (await isPortOpen(port)) && (await kafkaAnswers(brokers, 5_000))) {
      const found = await countBrokers(infraKafkaConnection(brokers));
      if (requestedNodes !== undefined && found !== requestedNodes) {
        throw new InfraError(
          `a Kafka not started by infra:up (${found} broker${found === 1 ? '' : 's'}) answers on localhost:${port}, but ${describeKafka(requestedNodes)} was asked for; ` +
            `stop it first (see \`ss -ltnp 'sport = :${port}'\`)`,
        );
      }
      log(`kafka: a broker not started by infra:up answers on localhost:${port} (${found} broker${found === 1 ? '' : 's'}); using it`);
      // Not ours to manage (another checkout's, or one a user started): reported like KAFKA_BROKERS pointing elsewhere.
      mode = 'external';
      nodes = found;
      runsVersion = undefined;
    } else if (nodes === 1) {
      const info = await startBroker({ name: MAIN_BROKER, port, controllerPort: port + 1, partitions, timeoutMs, version: runsVersion, log });
      startedBroker = !info.alreadyRunning;
      runsVersion = info.version;
      log(`kafka: broker "${MAIN_BROKER}" ${info.alreadyRunning ? 'already running' : 'ready'} (pid ${info.pid}) on ${info.bootstrap}, Kafka ${info.version}`);
    } else {
      timeoutMs = opts.timeoutMs ?? 120_000;
      const cluster = await startCluster({ name: MAIN_CLUSTER, basePort: port, nodes, partitions, timeoutMs, version: runsVersion, log });
      startedBroker = !cluster.alreadyRunning;
      runsVersion = cluster.version;
      log(
        `kafka: ${nodes}-node cluster "${MAIN_CLUSTER}" ${cluster.alreadyRunning ? 'already running' : 'ready'} on ${cluster.brokers.join(', ')}, ` +
          `Kafka ${cluster.version} (pids ${cluster.nodes.map((n) => n.pid()).join(', ')}; logs ${clusterLogs()})`,
      );
      if (brokers.length < nodes)
        log(`kafka: for the apps and tools, set KAFKA_BROKERS=${localBootstrap(nodes).join(',')} (node 1 alone works only while it is up)`);
    }
  }

  const topics = await ensureContractTopics(brokers, { partitions, nodes, log });
  for (const m of topics.partitionMismatch) {
    log(`kafka: warning: topic ${m.topic} has ${m.partitions} partitions, KAFKA_TOPIC_PARTITIONS is ${partitions} (left as is)`);
  }

  const createdDatabases = await ensureDatabases({ log });
  if (createdDatabases.length === 0) {
    log(
      `postgres: databases ${Object.values(databaseUrls())
        .map((u) => parseDatabaseUrl(u).database)
        .join(', ')} present`,
    );
  }
  return { mode, brokers, nodes, version: runsVersion, startedBroker, createdTopics: topics.created, createdDatabases };
}

/**
 * Creates the contract topics that are missing (event topics with
 * KAFKA_EVENT_RETENTION_MS, dead-letter topics with KAFKA_DLQ_RETENTION_MS,
 * default unlimited) and brings the configs of the topics that existed
 * already to the same settings (a broker whose dead-letter topics were
 * created with the 7-day default gets unlimited retention on the next
 * `infra:up`).
 */
export async function ensureContractTopics(
  brokers: string[],
  opts: { partitions: number; nodes: number; log?: Logger },
): Promise<{ created: string[]; reconfigured: string[]; partitionMismatch: { topic: string; partitions: number }[] }> {
  const log = opts.log ?? consoleLogger;
  const conn = infraKafkaConnection(brokers);
  const { replicationFactor, minInSyncReplicas } = replicationFor(opts.nodes);
  const created: string[] = [];
  const partitionMismatch: { topic: string; partitions: number }[] = [];
  for (const group of [EVENT_TOPICS, DEAD_LETTER_TOPICS]) {
    const r = await ensureTopics(conn, group, { partitions: opts.partitions, replicationFactor, configs: topicConfigsFor(group[0], opts.nodes) });
    created.push(...r.created);
    partitionMismatch.push(...r.partitionMismatch);
  }
  const wanted = Object.fromEntries(ALL_TOPICS.map((t) => [t, topicConfigsFor(t, opts.nodes)]));
  const reconfigured = await reconcileTopicConfigs(conn, wanted);
  const retention = (t: string) => (wanted[t]['retention.ms'] === '-1' ? 'unlimited' : `${wanted[t]['retention.ms']} ms`);
  log(
    created.length > 0
      ? `kafka: created topics ${created.join(', ')} (${opts.partitions} partitions, replication factor ${replicationFactor}, min ISR ${minInSyncReplicas})`
      : `kafka: all ${ALL_TOPICS.length} contract topics present`,
  );
  if (reconfigured.length > 0) log(`kafka: topic configs updated on ${reconfigured.join(', ')}`);
  log(`kafka: retention ${retention(EVENT_TOPICS[0])} on event topics, ${retention(DEAD_LETTER_TOPICS[0])} on dead-letter topics`);
  return { created, reconfigured, partitionMismatch };
}

/**
 * Stops the local brokers started by infra (the single one, the cluster's
 * nodes and any named extra broker), or `docker compose down` with
 * INFRA_MODE=docker. PostgreSQL is a system service shared with other work
 * and is left running. Returns the names of the brokers it stopped.
 */
export async function infraDown(opts: { log?: Logger } = {}): Promise<string[]> {
  const log = opts.log ?? consoleLogger;
  if (dockerRequested() && dockerUsable()) {
    compose(['--profile', 'cluster', 'down'], log);
    return ['docker'];
  }
  const names = [...new Set([MAIN_BROKER, ...knownBrokers()])];
  // All at once: a cluster's last nodes would otherwise wait for a quorum that the first ones took away.
  const results = await Promise.all(names.map(async (name) => ((await stopBroker(name, { log })) ? [name] : [])));
  const stopped = results.flat();
  log(stopped.length > 0 ? `kafka: stopped ${stopped.join(', ')}` : 'kafka: no local broker running');
  log('postgres: left running (system service)');
  return stopped;
}

export interface InfraStatus {
  /** The version infra:up would start (KAFKA_VERSION or the default). */
  kafkaVersion: string;
  jarsFetched: boolean;
  brokers: string[];
  kafkaReady: boolean;
  /** Brokers registered in the cluster KAFKA_BROKERS points at (when ready). */
  clusterBrokers?: number;
  /** The local Kafka infra:up started, if it runs: nodes, version, running nodes, active controller (cluster). */
  local?: { nodes: number; version?: string; running: number; activeController?: number };
  localBrokers: { name: string; pid?: number; port?: number; version?: string; running: boolean }[];
  missingTopics: string[];
  postgres: { url: string; reachable: boolean; exists: boolean }[];
  /** Per app: consumer lag, dead letters waiting, outbox backlog. */
  apps: AppBacklog[];
}

/** What runs and what is missing; never starts or changes anything. */
export async function infraStatus(): Promise<InfraStatus> {
  const brokers = kafkaBrokers();
  const localBrokers = [...new Set([MAIN_BROKER, ...knownBrokers()])].map((name) => {
    const pid = brokerPid(name);
    return { name, pid, port: brokerPorts(name)?.port, version: pid === undefined ? undefined : runningVersion(pid), running: pid !== undefined };
  });
  const running = runningLocalKafka();
  const local = running && { ...running, activeController: running.nodes > 1 ? localActiveController(MAIN_CLUSTER) : undefined };
  const kafkaReady = await kafkaAnswers(brokers, 3_000);
  let missingTopics: string[] = [...ALL_TOPICS];
  let clusterBrokers: number | undefined;
  if (kafkaReady) {
    const present = new Set(await listTopics(infraKafkaConnection(brokers)));
    missingTopics = ALL_TOPICS.filter((t) => !present.has(t));
    clusterBrokers = await countBrokers(infraKafkaConnection(brokers)).catch(() => undefined);
  }
  const postgres = [];
  for (const url of Object.values(databaseUrls())) {
    const { host, port } = parseDatabaseUrl(url);
    const reachable = await isPortOpen(port, host === 'localhost' ? '127.0.0.1' : host);
    const exists = reachable ? await databaseExists(url).catch(() => false) : false;
    postgres.push({ url: redact(url), reachable, exists });
  }
  const urls = databaseUrls();
  const apps = await appBacklogs({
    kafka: infraKafkaConnection(brokers),
    databaseUrls: { order: urls.ORDER_DATABASE_URL, payment: urls.PAYMENT_DATABASE_URL, notification: urls.NOTIFICATION_DATABASE_URL },
    consoleUrl: process.env.CONSOLE_URL?.trim() || DEFAULT_CONSOLE_URL,
  });
  return {
    kafkaVersion: kafkaVersion(),
    jarsFetched: isKafkaFetched(),
    brokers,
    kafkaReady,
    clusterBrokers,
    local,
    localBrokers,
    missingTopics,
    postgres,
    apps,
  };
}
export * from './preflight';
export * from './app-backlog';
