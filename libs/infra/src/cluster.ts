import * as fs from 'node:fs';
import * as path from 'node:path';
import { describePartitions, waitForKafka } from '@lib/kafka/admin';
import {
  NodeConfig,
  brokerPid,
  brokerPorts,
  checkName,
  formattedClusterId,
  launchNode,
  randomClusterId,
  runningVersion,
  signalPid,
  stopBroker,
  waitForPort,
} from './broker';
import { Replication, replicationFor } from './broker-settings';
import { topicPartitions } from './config';
import { KAFKA_DIR, REPO_ROOT, brokerPaths } from './paths';
import { InfraError, Logger, consoleLogger, withFileLock } from './util';
import { kafkaVersion } from './versions';

/** Name of the cluster `npm run infra:up -- --brokers 3` starts (nodes `cluster-1`…). */
export const MAIN_CLUSTER = 'cluster';
/** Heap of each cluster node: three of them share the machine with PostgreSQL, the apps and the tests. */
export const CLUSTER_NODE_JVM_OPTS = ['-Xms192m', '-Xmx384m'];

export interface StartClusterOptions {
  /** Cluster name (default `cluster`): node i's files are `.local/kafka/<name>-<i>.*`. */
  name?: string;
  /** Node i (1-based) listens on `basePort + 2(i-1)` for clients and the next port as controller (default 9092: 9092/9093, 9094/9095, 9096/9097). */
  basePort?: number;
  /** Number of nodes, all of them brokers and controllers (default 3). */
  nodes?: number;
  /** `num.partitions` (default env KAFKA_TOPIC_PARTITIONS or 6). */
  partitions?: number;
  /** Delete the nodes' data dirs before starting (only nodes that are not running). */
  fresh?: boolean;
  /** Deadline for the whole cluster to become ready (default 120 s). */
  timeoutMs?: number;
  /** Apache Kafka version (default: KAFKA_VERSION or the pinned default). */
  version?: string;
  /** Extra server.properties entries per node (the hook for a secured listener). */
  extraProperties?: (nodeId: number) => Record<string, string>;
  /** Extra `StorageTool format` arguments (e.g. `--add-scram`). */
  extraFormatArgs?: string[];
  log?: Logger;
}

/** One node of a local cluster, with the faults a test may inflict on it. */
export interface ClusterNode {
  readonly nodeId: number;
  /** File name of the node: `.local/kafka/<name>.*`. */
  readonly name: string;
  readonly port: number;
  readonly controllerPort: number;
  /** `127.0.0.1:<port>`. */
  readonly bootstrap: string;
  readonly logFile: string;
  /** Pid of the node's JVM while it runs (also while paused), else undefined. */
  pid(): number | undefined;
  isRunning(): boolean;
  /** SIGTERM (controlled shutdown: leadership moves away first), SIGKILL after `graceMs` (default 20 s). */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL: a crash, no controlled shutdown. */
  kill(): Promise<void>;
  /** SIGSTOP: the JVM freezes (no heartbeats; the controller fences it after `broker.session.timeout.ms`). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Starts a stopped or killed node again on its data and waits until the cluster has all its brokers again. */
  restart(): Promise<void>;
}

/** A local KRaft cluster: every node is a broker and a voter of the controller quorum. */
export interface KafkaCluster {
  name: string;
  /** Apache Kafka version it runs. */
  version: string;
  /** Bootstrap addresses of all nodes, for KAFKA_BROKERS / kafkajs `brokers`. */
  brokers: string[];
  nodes: ClusterNode[];
  /** Replication of the contract topics on it (3 and min ISR 2 on three nodes). */
  replication: Replication;
  /** True when every node was running already and this call only checked the cluster. */
  alreadyRunning: boolean;
  node(nodeId: number): ClusterNode;
  /** Node id of the active controller (the leader of the KRaft quorum), as the live nodes see it. */
  activeController(): Promise<number>;
  /** Node id leading a partition (-1 while it has none), from the cluster's metadata. */
  partitionLeader(topic: string, partition: number): Promise<number>;
  /** Stops every node (SIGTERM, then SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
}

export interface ClusterLayout {
  name: string;
  version: string;
  configs: NodeConfig[];
}

/** Names, ids, ports and settings of the nodes startCluster would start (exported for the compose parity test). */
export function clusterLayout(opts: StartClusterOptions = {}): ClusterLayout {
  const name = opts.name ?? MAIN_CLUSTER;
  checkName(name);
  const count = opts.nodes ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > 9) throw new InfraError(`a local cluster has 1 to 9 nodes, not ${count}`);
  const basePort = opts.basePort ?? 9092;
  const version = opts.version ?? kafkaVersion();
  const partitions = opts.partitions ?? topicPartitions();
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  const ports = (id: number) => ({ port: basePort + 2 * (id - 1), controllerPort: basePort + 2 * (id - 1) + 1 });
  const voters = ids.map((id) => `${id}@127.0.0.1:${ports(id).controllerPort}`).join(',');
  const configs = ids.map<NodeConfig>((nodeId) => ({
    name: `${name}-${nodeId}`,
    nodeId,
    ...ports(nodeId),
    voters,
    clusterSize: count,
    partitions,
    version,
    heapOpts: CLUSTER_NODE_JVM_OPTS,
    extraProperties: opts.extraProperties?.(nodeId),
    extraFormatArgs: opts.extraFormatArgs,
  }));
  return { name, version, configs };
}

/** Node names of cluster `name` that have files under .local/kafka (running or not). */
export function clusterNodeNames(name: string = MAIN_CLUSTER): string[] {
  try {
    return fs
      .readdirSync(KAFKA_DIR)
      .map((f) => new RegExp(`^(${name}-\\d+)\\.properties$`).exec(f)?.[1])
      .filter((n): n is string => n !== undefined)
      .sort();
  } catch {
    return [];
  }
}

/** Nodes of cluster `name` that are running, with their pid and client port. */
export function runningClusterNodes(name: string = MAIN_CLUSTER): { name: string; pid: number; port?: number }[] {
  return clusterNodeNames(name).flatMap((node) => {
    const pid = brokerPid(node);
    return pid === undefined ? [] : [{ name: node, pid, port: brokerPorts(node)?.port }];
  });
}

/**
 * The KRaft quorum leader as recorded by the live nodes in their
 * `__cluster_metadata-0/quorum-state` file (written at every election): the
 * leader named with the highest epoch. Cheaper than a DescribeQuorum call
 * through a JVM tool, and kafkajs has no such call; Metadata's controller id
 * is no help on KRaft (it names a random broker).
 */
function quorumLeader(configs: Pick<NodeConfig, 'name' | 'version'>[]): number | undefined {
  let best: { leader: number; epoch: number } | undefined;
  for (const node of configs) {
    if (brokerPid(node.name) === undefined) continue;
    try {
      const file = path.join(brokerPaths(node.name, node.version).dataDir, '__cluster_metadata-0', 'quorum-state');
      const state = JSON.parse(fs.readFileSync(file, 'utf8')) as { leaderId?: number; leaderEpoch?: number };
      const leader = state.leaderId ?? -1;
      const epoch = state.leaderEpoch ?? -1;
      if (leader >= 0 && (!best || epoch > best.epoch)) best = { leader, epoch };
    } catch {
      /* not written yet */
    }
  }
  return best?.leader;
}

/** The active controller of local cluster `name` as its running nodes record it (see quorumLeader), if any runs. */
export function localActiveController(name: string = MAIN_CLUSTER): number | undefined {
  return quorumLeader(runningClusterNodes(name).map((n) => ({ name: n.name, version: runningVersion(n.pid) ?? kafkaVersion() })));
}

/**
 * Starts a local KRaft cluster of `nodes` nodes (each a broker and a
 * controller, one JVM per node) from the same jars as the single broker, and
 * waits until every broker is registered and consumer groups get a
 * coordinator. Idempotent: running nodes are only checked, missing ones are
 * started. Internal topics are replicated 3 times with min ISR 2 (on three
 * nodes or more); the contract topics are the caller's (ensureTopics with
 * `cluster.replication`).
 */
export async function startCluster(opts: StartClusterOptions = {}): Promise<KafkaCluster> {
  const { name, version, configs } = clusterLayout(opts);
  const log = opts.log ?? consoleLogger;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const brokers = configs.map((c) => `127.0.0.1:${c.port}`);
  const lockFile = path.join(KAFKA_DIR, `${name}.cluster.lock`);

  const alreadyRunning = await withFileLock(lockFile, async () => {
    const down = configs.filter((c) => brokerPid(c.name) === undefined);
    for (const c of configs.filter((x) => !down.includes(x))) {
      const ports = brokerPorts(c.name);
      if (ports && (ports.port !== c.port || ports.controllerPort !== c.controllerPort)) {
        throw new InfraError(
          `node "${c.name}" is already running on ports ${ports.port}/${ports.controllerPort}, not ${c.port}/${c.controllerPort}; stop the cluster first`,
        );
      }
    }
    if (down.length === 0) return true;
    if (opts.fresh && down.length < configs.length) {
      throw new InfraError(`cluster "${name}" is partly running (${configs.length - down.length} of ${configs.length} nodes); stop it before a fresh start`);
    }
    const ids = new Set(
      configs.map((c) => (opts.fresh ? undefined : formattedClusterId(brokerPaths(c.name, version).dataDir))).filter((id): id is string => !!id),
    );
    if (ids.size > 1) {
      throw new InfraError(`the nodes of cluster "${name}" were formatted with different cluster ids (${[...ids].join(', ')}); start it with fresh: true`);
    }
    const clusterId = [...ids][0] ?? randomClusterId();
    log(`kafka: starting ${down.length} node(s) of cluster "${name}" (Kafka ${version}) on ${down.map((c) => `127.0.0.1:${c.port}`).join(', ')}`);
    const deadline = Date.now() + timeoutMs;
    const pids = await Promise.all(down.map((c) => launchNode(c, { clusterId, fresh: opts.fresh, log })));
    await Promise.all(down.map((c, i) => waitForPort(c, pids[i], deadline)));
    return false;
  });

  await waitForCluster(name, brokers, configs.length, timeoutMs);
  return clusterHandle(name, version, configs, brokers, alreadyRunning, log);
}

async function waitForCluster(name: string, brokers: string[], count: number, timeoutMs: number): Promise<void> {
  try {
    await waitForKafka({ brokers, clientId: `infra-${name}` }, { timeoutMs, brokers: count });
  } catch (e) {
    throw new InfraError(`${(e as Error).message}; see .local/kafka/${name}-*.log`);
  }
}

function clusterHandle(name: string, runsVersion: string, configs: NodeConfig[], brokers: string[], alreadyRunning: boolean, log: Logger): KafkaCluster {
  const firstPid = configs.map((c) => brokerPid(c.name)).find((pid) => pid !== undefined);
  const version = (firstPid !== undefined ? runningVersion(firstPid) : undefined) ?? runsVersion;
  const nodes = configs.map<ClusterNode>((c) => ({
    nodeId: c.nodeId,
    name: c.name,
    port: c.port,
    controllerPort: c.controllerPort,
    bootstrap: `127.0.0.1:${c.port}`,
    logFile: brokerPaths(c.name).logFile,
    pid: () => brokerPid(c.name),
    isRunning: () => brokerPid(c.name) !== undefined,
    stop: async (graceMs = 20_000) => void (await stopBroker(c.name, { graceMs, log })),
    kill: async () => void (await stopBroker(c.name, { graceMs: 0, log })),
    pause: () => {
      const pid = brokerPid(c.name);
      if (pid !== undefined) signalPid(pid, 'SIGSTOP');
    },
    resume: () => {
      const pid = brokerPid(c.name);
      if (pid !== undefined) signalPid(pid, 'SIGCONT');
    },
    restart: async () => {
      const deadline = Date.now() + 120_000;
      await withFileLock(brokerPaths(c.name).lockFile, async () => {
        if (brokerPid(c.name) !== undefined) return;
        const clusterId = formattedClusterId(brokerPaths(c.name, c.version).dataDir) ?? randomClusterId();
        log(`kafka: restarting node "${c.name}" of cluster "${name}"`);
        const pid = await launchNode(c, { clusterId, log });
        await waitForPort(c, pid, deadline);
      });
      await waitForCluster(name, brokers, configs.length, Math.max(deadline - Date.now(), 10_000));
    },
  }));

  return {
    name,
    version,
    brokers,
    nodes,
    replication: replicationFor(configs.length),
    alreadyRunning,
    node: (nodeId) => {
      const node = nodes.find((n) => n.nodeId === nodeId);
      if (!node) throw new InfraError(`cluster "${name}" has no node ${nodeId}`);
      return node;
    },
    activeController: async () => {
      const leader = quorumLeader(configs);
      if (leader === undefined) throw new InfraError(`cluster "${name}": no live node knows a quorum leader`);
      return leader;
    },
    partitionLeader: async (topic, partition) => {
      const partitions = await describePartitions({ brokers, clientId: `infra-${name}-admin` }, [topic]);
      return partitions.find((p) => p.partition === partition)?.leader ?? -1;
    },
    stop: async (graceMs) => {
      // All at once: stopped one after the other, the last node's controlled shutdown
      // waits for a controller quorum that the others took away (20 s, then SIGKILL).
      await Promise.all(nodes.map((node) => node.stop(graceMs)));
    },
  };
}

/** Stops every running node of cluster `name` (default `cluster`). Returns the names it stopped. */
export async function stopCluster(name: string = MAIN_CLUSTER, opts: { log?: Logger; graceMs?: number } = {}): Promise<string[]> {
  // All at once, as in KafkaCluster.stop.
  const names = clusterNodeNames(name);
  const stopped = await Promise.all(names.map((node) => stopBroker(node, opts)));
  return names.filter((_, i) => stopped[i]);
}

/** Where the logs of a cluster's nodes are, for messages. */
export function clusterLogs(name: string = MAIN_CLUSTER): string {
  return path.relative(REPO_ROOT, path.join(KAFKA_DIR, `${name}-*.log`));
}
