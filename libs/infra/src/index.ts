/**
 * Local infrastructure: a real Apache Kafka broker (jars from Maven Central,
 * started with java; or docker-compose.kafka.yml with INFRA_MODE=docker) and
 * the apps' PostgreSQL databases. `npm run infra:up|down|status|fetch`.
 */
import { ALL_TOPICS } from '@lib/events/topics';
import { ensureTopics, listTopics, waitForKafka } from '@lib/kafka/admin';
import { MAIN_BROKER, brokerPid, brokerPorts, knownBrokers, startBroker, stopBroker } from './broker';
import { databaseUrls, infraKafkaConnection, isLocalMainBroker, kafkaBrokers, topicPartitions } from './config';
import { compose, dockerRequested, dockerUsable } from './docker';
import { isKafkaFetched } from './kafka-dist';
import { databaseExists, ensureDatabases, parseDatabaseUrl, redact } from './postgres';
import { InfraError, Logger, consoleLogger, isPortOpen } from './util';
import { KAFKA_VERSION } from './versions';

export { KAFKA_VERSION } from './versions';
export { fetchKafka, kafkaToolsClasspath, isKafkaFetched } from './kafka-dist';
export { startBroker, stopBroker, isBrokerRunning, brokerPid, MAIN_BROKER } from './broker';
export type { StartBrokerOptions, BrokerInfo } from './broker';
export { waitForKafka, ensureTopics } from '@lib/kafka/admin';
export { ensureDatabases, createDatabase, dropDatabase, databaseExists, ensurePostgresRunning } from './postgres';
export { kafkaBrokers, topicPartitions, databaseUrls, infraKafkaConnection, loadDotEnv } from './config';
export { InfraError } from './util';
export type { Logger } from './util';
export * from './app-process';

export interface InfraUpOptions {
  /** Where progress lines go (default console.log). */
  log?: Logger;
  /** Deadline for Kafka readiness (default 90 s). */
  timeoutMs?: number;
}

export interface InfraUpResult {
  mode: 'jar' | 'docker' | 'external';
  brokers: string[];
  /** True when this call started the broker (false: it was running already). */
  startedBroker: boolean;
  createdTopics: string[];
  createdDatabases: string[];
}

/** A healthy Kafka is already answering on `brokers` (quick check). */
async function kafkaAnswers(brokers: string[], timeoutMs: number): Promise<boolean> {
  try {
    await waitForKafka(infraKafkaConnection(brokers), { timeoutMs });
    return true;
  } catch {
    return false;
  }
}

/**
 * Brings up Kafka (KAFKA_BROKERS, default localhost:9092), the contract
 * topics and the app databases. Idempotent: with a healthy broker running it
 * only checks topics and databases.
 */
export async function infraUp(opts: InfraUpOptions = {}): Promise<InfraUpResult> {
  const log = opts.log ?? consoleLogger;
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const brokers = kafkaBrokers();
  const partitions = topicPartitions();
  let mode: InfraUpResult['mode'] = 'jar';
  let startedBroker = false;

  if (!isLocalMainBroker(brokers)) {
    mode = 'external';
    log(`kafka: KAFKA_BROKERS=${brokers.join(',')} is not the local broker; using it as is`);
    try {
      await waitForKafka(infraKafkaConnection(brokers), { timeoutMs: Math.min(timeoutMs, 30_000) });
    } catch (e) {
      throw new InfraError(
        `Kafka at ${brokers.join(',')} is not reachable (${(e as Error).message}); infra:up starts a broker only for localhost:9092`,
      );
    }
  } else if (dockerRequested() && dockerUsable()) {
    mode = 'docker';
    compose(['up', '-d'], log);
    await waitForKafka(infraKafkaConnection(brokers), { timeoutMs });
  } else {
    if (dockerRequested()) log('docker: INFRA_MODE=docker but no usable Docker engine (`docker info` fails); using the jar path');
    const pid = brokerPid(MAIN_BROKER);
    if (pid === undefined && (await isPortOpen(9092)) && (await kafkaAnswers(brokers, 5_000))) {
      log('kafka: a broker not started by infra:up answers on localhost:9092; using it');
    } else {
      const info = await startBroker({ name: MAIN_BROKER, port: 9092, controllerPort: 9093, partitions, timeoutMs, log });
      startedBroker = !info.alreadyRunning;
      log(
        info.alreadyRunning
          ? `kafka: broker "${MAIN_BROKER}" already running (pid ${info.pid}) on ${info.bootstrap}, Kafka ${KAFKA_VERSION}`
          : `kafka: broker "${MAIN_BROKER}" ready (pid ${info.pid}) on ${info.bootstrap}, Kafka ${KAFKA_VERSION}`,
      );
    }
  }

  const topics = await ensureTopics(infraKafkaConnection(brokers), ALL_TOPICS, { partitions, replicationFactor: 1 });
  log(
    topics.created.length > 0
      ? `kafka: created topics ${topics.created.join(', ')} (${partitions} partitions)`
      : `kafka: all ${ALL_TOPICS.length} contract topics present`,
  );
  for (const m of topics.partitionMismatch) {
    log(`kafka: warning: topic ${m.topic} has ${m.partitions} partitions, KAFKA_TOPIC_PARTITIONS is ${partitions} (left as is)`);
  }

  const createdDatabases = await ensureDatabases({ log });
  if (createdDatabases.length === 0) {
    log(`postgres: databases ${Object.values(databaseUrls()).map((u) => parseDatabaseUrl(u).database).join(', ')} present`);
  }
  return { mode, brokers, startedBroker, createdTopics: topics.created, createdDatabases };
}

/**
 * Stops the local brokers started by infra (the main one and any named extra
 * broker), or `docker compose down` with INFRA_MODE=docker. PostgreSQL is a
 * system service shared with other work and is left running. Returns the
 * names of the brokers it stopped.
 */
export async function infraDown(opts: { log?: Logger } = {}): Promise<string[]> {
  const log = opts.log ?? consoleLogger;
  if (dockerRequested() && dockerUsable()) {
    compose(['down'], log);
    return ['docker'];
  }
  const stopped: string[] = [];
  const names = [...new Set([MAIN_BROKER, ...knownBrokers()])];
  for (const name of names) {
    if (await stopBroker(name, { log })) stopped.push(name);
  }
  log(stopped.length > 0 ? `kafka: stopped ${stopped.join(', ')}` : 'kafka: no local broker running');
  log('postgres: left running (system service)');
  return stopped;
}

export interface InfraStatus {
  kafkaVersion: string;
  jarsFetched: boolean;
  brokers: string[];
  kafkaReady: boolean;
  localBrokers: { name: string; pid?: number; port?: number; running: boolean }[];
  missingTopics: string[];
  postgres: { url: string; reachable: boolean; exists: boolean }[];
}

/** What runs and what is missing; never starts or changes anything. */
export async function infraStatus(): Promise<InfraStatus> {
  const brokers = kafkaBrokers();
  const localBrokers = [...new Set([MAIN_BROKER, ...knownBrokers()])].map((name) => {
    const pid = brokerPid(name);
    return { name, pid, port: brokerPorts(name)?.port, running: pid !== undefined };
  });
  const kafkaReady = await kafkaAnswers(brokers, 3_000);
  let missingTopics: string[] = [...ALL_TOPICS];
  if (kafkaReady) {
    const present = new Set(await listTopics(infraKafkaConnection(brokers)));
    missingTopics = ALL_TOPICS.filter((t) => !present.has(t));
  }
  const postgres = [];
  for (const url of Object.values(databaseUrls())) {
    const { host, port } = parseDatabaseUrl(url);
    const reachable = await isPortOpen(port, host === 'localhost' ? '127.0.0.1' : host);
    const exists = reachable ? await databaseExists(url).catch(() => false) : false;
    postgres.push({ url: redact(url), reachable, exists });
  }
  return { kafkaVersion: KAFKA_VERSION, jarsFetched: isKafkaFetched(), brokers, kafkaReady, localBrokers, missingTopics, postgres };
}
