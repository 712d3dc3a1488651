import { ALL_TOPICS } from '@lib/events';
import {
  brokerPid,
  ClusterNode,
  contractTopicConfigs,
  ensureTopics,
  KafkaCluster,
  kafkaBrokers,
  startBroker,
  startCluster,
  stopBroker,
  stopCluster,
  SecureBroker,
  startSecureBroker,
  waitForKafka,
} from '@lib/infra';
import type { AppName } from '@lib/events';
import type { KafkaClientSettings } from '@lib/kafka';
import { eventually } from './eventually';

/**
 * One broker process a test started, with the faults a test may inflict on
 * it (stop, SIGKILL, SIGSTOP/SIGCONT, restart on its data): a node of
 * libs/infra's local cluster, or a private single broker offering the same,
 * so a cluster plugs in where a single broker was.
 */
export type BrokerNode = Pick<ClusterNode, 'name' | 'port' | 'bootstrap' | 'pid' | 'isRunning' | 'stop' | 'kill' | 'pause' | 'resume' | 'restart'>;

/** The Kafka a test runs against. */
export interface KafkaUnderTest {
  /** Bootstrap addresses, for KAFKA_BROKERS and kafkajs. */
  readonly brokers: string[];
  /** The broker processes this test started (none when it was given brokers). */
  readonly nodes: readonly BrokerNode[];
  /** The cluster handle when the source is {@link privateCluster}: nodes by id, active controller, partition leaders. */
  readonly cluster?: KafkaCluster;
  /**
   * The secured broker when the source is {@link privateSecureBroker}: each
   * principal's connection and app variables, its CA and Java client configs.
   */
  readonly secure?: SecureBroker;
  /** How the test's own clients (recorders, producers) connect; default: `brokers`, no TLS, no SASL. */
  readonly client?: KafkaClientSettings;
  /** Kafka variables of `app` on top of `KAFKA_BROKERS` (a secured broker: TLS and the app's own SASL principal). */
  appEnv?(app: AppName): Record<string, string>;
  /** Stops what the test started; brokers it was given are left alone. */
  stop(): Promise<void>;
}

/**
 * Where a system's Kafka comes from: started for it (`privateBroker`) or given
 * (`givenBrokers`). `start` receives the system's name, to name what it starts.
 * A three-node cluster is one more source of this shape, so callers do not
 * change when they switch.
 */
export interface KafkaSource {
  start(name: string): Promise<KafkaUnderTest>;
}

function brokerNode(name: string, port: number, partitions: number, extraProperties?: Record<string, string>): BrokerNode {
  const signal = (signal: NodeJS.Signals) => {
    const pid = brokerPid(name);
    if (pid !== undefined) process.kill(pid, signal);
  };
  return {
    name,
    port,
    bootstrap: `127.0.0.1:${port}`,
    pid: () => brokerPid(name),
    isRunning: () => brokerPid(name) !== undefined,
    stop: async (graceMs) => {
      signal('SIGCONT'); // a frozen JVM would not act on SIGTERM
      await stopBroker(name, { log: () => undefined, graceMs });
    },
    kill: async () => {
      signal('SIGKILL');
      await eventually(() => brokerPid(name) === undefined, { timeoutMs: 10_000, what: `broker ${name} gone after SIGKILL` });
    },
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    restart: async () => void (await startBroker({ name, port, controllerPort: port + 1, partitions, extraProperties, log: () => undefined })),
  };
}

/**
 * A Kafka broker of a test's own (same jars and settings as the main one,
 * client port `port`, controller port `port + 1`, fresh data), with the
 * contract topics of `partitions` partitions each. Suites that run the apps'
 * real consumer groups (`order`, `payment`, `notification`) use one, so they
 * neither see other suites' messages nor steal their partitions, and fault
 * tests can stop it without disturbing anyone.
 */
export async function startPrivateKafka(name: string, port: number, partitions = 3, extraProperties?: Record<string, string>): Promise<KafkaUnderTest> {
  const node = brokerNode(name, port, partitions, extraProperties);
  try {
    await startBroker({ name, port, controllerPort: port + 1, fresh: true, partitions, extraProperties, log: () => undefined });
    const brokers = [`localhost:${port}`];
    const connection = { brokers, clientId: `${name}-setup` };
    await waitForKafka(connection, { timeoutMs: 90_000 });
    await ensureTopics(connection, ALL_TOPICS, { partitions, replicationFactor: 1 });
    return { brokers, nodes: [node], stop: () => node.stop() };
  } catch (error) {
    await node.stop().catch(() => undefined);
    throw error;
  }
}

/**
 * A private broker (see {@link startPrivateKafka}) on `port`, named after the
 * system. `extraProperties` are server.properties entries added last, kept
 * across restarts (e.g. extra listeners, as the chaos suite gives each app
 * instance one behind a proxy of its own).
 */
export function privateBroker(options: { port: number; partitions?: number; extraProperties?: Record<string, string> }): KafkaSource {
  return { start: (name) => startPrivateKafka(name, options.port, options.partitions, options.extraProperties) };
}

/**
 * A private KRaft cluster of `nodes` nodes (libs/infra's `startCluster`, the
 * code of `npm run infra:up -- --brokers 3`), named after the system: node i
 * listens on `basePort + 2(i-1)` for clients and the next port as controller,
 * starts on fresh data, and gets the contract topics with `partitions`
 * partitions, replicated as the contract asks on that many nodes (3 and
 * `min.insync.replicas=2` on three). Each node can be stopped, killed, frozen
 * and restarted (`system.kafka.nodes`, or `system.kafka.cluster.node(id)`),
 * which is what a fault suite needs: losing one of three brokers loses no
 * acknowledged write. `stop()` stops every node.
 */
export function privateCluster(options: {
  basePort: number;
  nodes?: number;
  partitions?: number;
  /** server.properties entries of node `nodeId` added last (e.g. extra listeners); kept across restarts. */
  extraProperties?: (nodeId: number) => Record<string, string>;
}): KafkaSource {
  const { basePort, nodes = 3, partitions = 3, extraProperties } = options;
  return {
    start: async (name) => {
      try {
        const cluster = await startCluster({ name, basePort, nodes, partitions, fresh: true, extraProperties, log: () => undefined });
        const { replicationFactor } = cluster.replication;
        await ensureTopics({ brokers: cluster.brokers, clientId: `${name}-setup` }, ALL_TOPICS, {
          partitions,
          replicationFactor,
          configs: contractTopicConfigs(nodes),
        });
        return { brokers: cluster.brokers, nodes: cluster.nodes, cluster, stop: () => cluster.stop(10_000) };
      } catch (error) {
        // Whatever nodes came up before the failure.
        await stopCluster(name, { log: () => undefined, graceMs: 0 }).catch(() => undefined);
        throw error;
      }
    },
  };
}

/**
 * A private secured broker (libs/infra's `startSecureBroker`, the code of
 * `npm run infra:up -- --secure`) on `port` (controller `port + 1`), named
 * after the system, on fresh data and fresh material: a SASL_SSL listener
 * with a throw-away CA, SCRAM-SHA-512 users created at format time and the
 * per-app ACLs. Each app runs as its own principal (`appEnv`); the test's own
 * recorders and producers as the admin principal (`client`).
 */
export function privateSecureBroker(options: { port: number; partitions?: number }): KafkaSource {
  return {
    start: async (name) => {
      try {
        const secure = await startSecureBroker({ name, port: options.port, partitions: options.partitions ?? 3, fresh: true, log: () => undefined });
        const { clientId: _admin, ...client } = secure.connection('admin');
        return { brokers: secure.brokers, nodes: [], secure, client, appEnv: (app) => secure.appEnv(app), stop: () => secure.stop() };
      } catch (error) {
        await stopBroker(name, { log: () => undefined, graceMs: 0 }).catch(() => undefined);
        throw error;
      }
    },
  };
}

/** Brokers someone else runs (default: `KAFKA_BROKERS`, or the main local broker); never stopped by the test. */
export function givenBrokers(brokers: string[] = kafkaBrokers()): KafkaSource {
  return { start: async () => ({ brokers, nodes: [], stop: async () => undefined }) };
}

/**
 * The brokers listed (comma-separated) in the environment variable `variable`
 * when it is set — e.g. a three-node cluster someone started, to run a suite
 * against it — else `otherwise`. Given brokers must already have the contract
 * topics (`infra:up` creates them) and are left running.
 */
export function givenBrokersFrom(variable: string, otherwise: KafkaSource): KafkaSource {
  const listed = (process.env[variable] ?? '')
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
  return listed.length > 0 ? givenBrokers(listed) : otherwise;
}
