import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { waitForKafka } from '@lib/kafka/admin';
import { topicPartitions } from './config';
import { sharedBrokerSettings } from './broker-settings';
import { kafkaToolsClasspath, assertJava } from './kafka-dist';
import { KAFKA_DIR, REPO_ROOT, brokerPaths } from './paths';
import { InfraError, Logger, consoleLogger, isPidAlive, isPortOpen, processCmdline, readPid, sleep, withFileLock, withProgress } from './util';
import { isKafka4, kafkaVersion } from './versions';

export const MAIN_BROKER = 'main';
/** Heap of a single broker (broker and controller in one JVM). */
export const BROKER_JVM_OPTS = ['-Xms256m', '-Xmx512m'];
export const TOOL_JVM_OPTS = ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];

export interface StartBrokerOptions {
  /** Broker name: its files are `.local/kafka/<name>.*` and `.local/kafka/<version>/data/<name>` (default `main`). */
  name?: string;
  /** PLAINTEXT port on 127.0.0.1 (default 9092). */
  port?: number;
  /** CONTROLLER port on 127.0.0.1 (default port + 1). */
  controllerPort?: number;
  /** `num.partitions` (default env KAFKA_TOPIC_PARTITIONS or 6). */
  partitions?: number;
  /** Delete the broker's data dir before starting (only when it is not running). */
  fresh?: boolean;
  /** Deadline for the broker to become ready (default 90 s). */
  timeoutMs?: number;
  /** Apache Kafka version (default: KAFKA_VERSION or the pinned default). */
  version?: string;
  /** server.properties entries added last (see {@link NodeConfig.extraProperties}); written again at every start. */
  extraProperties?: Record<string, string>;
  log?: Logger;
}

export interface BrokerInfo {
  name: string;
  pid: number;
  port: number;
  controllerPort: number;
  /** `127.0.0.1:<port>`, for KAFKA_BROKERS / kafkajs `brokers`. */
  bootstrap: string;
  logFile: string;
  dataDir: string;
  /** Apache Kafka version the broker runs. */
  version: string;
  /** True when it was running already and this call only checked it. */
  alreadyRunning: boolean;
}

/**
 * One KRaft node (broker and controller roles in one JVM): the single local
 * broker is a node whose voter set is itself; a cluster is several nodes
 * sharing one voter set and one cluster id.
 */
export interface NodeConfig {
  /** File name of the node: `.local/kafka/<name>.*`. */
  name: string;
  nodeId: number;
  /** PLAINTEXT port on 127.0.0.1, what clients use. */
  port: number;
  /** CONTROLLER port on 127.0.0.1 (KRaft quorum only; clients never use it). */
  controllerPort: number;
  /** `controller.quorum.voters`, e.g. `1@127.0.0.1:9093,2@127.0.0.1:9095,3@127.0.0.1:9097`. */
  voters: string;
  /** Number of nodes of its cluster (sets the replication of internal topics). */
  clusterSize: number;
  partitions: number;
  version: string;
  /**
   * server.properties entries added last, winning over ours: the hook for a
   * secured listener (SASL_SSL listener, `ssl.*`, `sasl.*`, authorizer) or
   * test-specific tuning.
   */
  extraProperties?: Record<string, string>;
  /** Extra `StorageTool format` arguments, e.g. `--add-scram` for SCRAM users created at format time. */
  extraFormatArgs?: string[];
  /** JVM heap options (default BROKER_JVM_OPTS). */
  heapOpts?: string[];
}

export function checkName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name)) throw new InfraError(`invalid broker name "${name}"`);
}

/** The pid of broker `name` if it is running (pid file + a live `kafka.Kafka` process using its properties). */
export function brokerPid(name: string = MAIN_BROKER): number | undefined {
  const p = brokerPaths(name);
  const pid = readPid(p.pidFile);
  if (pid === undefined || !isPidAlive(pid)) return undefined;
  const cmd = processCmdline(pid);
  return cmd.includes('kafka.Kafka') && cmd.includes(p.propsFile) ? pid : undefined;
}

/** True when the local broker `name` (default `main`) is running. */
export function isBrokerRunning(name: string = MAIN_BROKER): boolean {
  return brokerPid(name) !== undefined;
}

/** The Kafka version a running broker process was started with (from its classpath), if known. */
export function runningVersion(pid: number): string | undefined {
  return /\.local\/kafka\/([0-9][^/]*)\/libs/.exec(processCmdline(pid))?.[1];
}

/** Ports a broker was configured with (from its properties file), if it has been started before. */
export function brokerPorts(name: string = MAIN_BROKER): { port: number; controllerPort: number } | undefined {
  try {
    const props = fs.readFileSync(brokerPaths(name).propsFile, 'utf8');
    const m = /^listeners=PLAINTEXT:\/\/[^:]+:(\d+),CONTROLLER:\/\/[^:]+:(\d+)$/m.exec(props);
    return m ? { port: Number(m[1]), controllerPort: Number(m[2]) } : undefined;
  } catch {
    return undefined;
  }
}

/** Names of the brokers that have a pid file under .local/kafka. */
export function knownBrokers(): string[] {
  try {
    return fs
      .readdirSync(KAFKA_DIR)
      .filter((f) => f.endsWith('.pid'))
      .map((f) => f.slice(0, -4));
  } catch {
    return [];
  }
}

/** Base64url of 16 random bytes: the form of a Kafka cluster id (`kafka-storage random-uuid`). */
export function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** The cluster id a node's data dir was formatted with, if it was. */
export function formattedClusterId(dataDir: string): string | undefined {
  try {
    return /^cluster\.id=(.+)$/m.exec(fs.readFileSync(path.join(dataDir, 'meta.properties'), 'utf8'))?.[1]?.trim();
  } catch {
    return undefined;
  }
}

/** The config of a single local broker: node 1, its own only voter. */
export function singleNode(name: string, port: number, controllerPort: number, partitions: number, version: string): NodeConfig {
  return { name, nodeId: 1, port, controllerPort, voters: `1@127.0.0.1:${controllerPort}`, clusterSize: 1, partitions, version };
}

/** The server.properties of a local node (exported for the compose parity test). */
export function serverProperties(node: NodeConfig): string {
  const p = brokerPaths(node.name, node.version);
  const settings: Record<string, string> = {
    ...sharedBrokerSettings(node.partitions, node.clusterSize),
    'node.id': String(node.nodeId),
    'controller.quorum.voters': node.voters,
    listeners: `PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${node.port}`,
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': p.dataDir,
    // Small machine: fewer threads than the defaults.
    'num.network.threads': '2',
    'num.io.threads': node.clusterSize > 1 ? '2' : '4',
    ...node.extraProperties,
  };
  return (
    `# Generated by libs/infra/src/broker.ts for local broker "${node.name}" (Kafka ${node.version}); rewritten at each start.\n` +
    Object.entries(settings)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') +
    '\n'
  );
}

/** Loggers quieter than INFO in the broker log (the same for reload4j and log4j2). */
const QUIET_LOGGERS = ['kafka.request.logger', 'state.change.logger', 'kafka.log.LogCleaner', 'org.apache.kafka.clients'];

/** reload4j config of a 3.x broker: everything to stdout, which is the broker's log file. */
function brokerLog4j(): string {
  return [
    'log4j.rootLogger=INFO, stdout',
    'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
    'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
    ...QUIET_LOGGERS.map((l) => `log4j.logger.${l}=WARN`),
    '',
  ].join('\n');
}

/** log4j2 config of a 4.x broker: the same as brokerLog4j, in log4j2's properties format. */
function brokerLog4j2(): string {
  return [
    'status = warn',
    'appender.stdout.type = Console',
    'appender.stdout.name = STDOUT',
    'appender.stdout.layout.type = PatternLayout',
    'appender.stdout.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.stdout.ref = STDOUT',
    ...QUIET_LOGGERS.flatMap((l, i) => [`logger.q${i}.name = ${l}`, `logger.q${i}.level = WARN`]),
    '',
  ].join('\n');
}

/** JVM system properties naming the logging config of a Kafka version (3.x: reload4j, 4.x: log4j2). */
export function loggingOpts(version: string, files: { log4j: string; log4j2: string }): string[] {
  return isKafka4(version) ? [`-Dlog4j2.configurationFile=${files.log4j2}`] : [`-Dlog4j.configuration=file:${files.log4j}`];
}

export function logTail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** `StorageTool format` of a node's data dir with a static voter set (`controller.quorum.voters`). */
async function formatStorage(classpath: string, node: NodeConfig, clusterId: string, logFile: string): Promise<void> {
  const p = brokerPaths(node.name, node.version);
  const toolsLog = path.join(REPO_ROOT, 'libs', 'infra', 'kafka');
  const args = [
    ...TOOL_JVM_OPTS,
    ...loggingOpts(node.version, { log4j: path.join(toolsLog, 'tools-log4j.properties'), log4j2: path.join(toolsLog, 'tools-log4j2.properties') }),
    '-cp',
    classpath,
    'kafka.tools.StorageTool',
    'format',
    '-t',
    clusterId,
    '-c',
    p.propsFile,
    '--ignore-formatted',
    ...(node.extraFormatArgs ?? []),
  ];
  // Asynchronous, so that the nodes of a cluster are formatted in parallel.
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, output: text }));
  });
  fs.appendFileSync(logFile, output);
  if (code !== 0) {
    throw new InfraError(`formatting Kafka storage of "${node.name}" failed (exit ${code}): ${output.trim().split('\n').slice(-3).join(' | ')}`);
  }
}

/** Fails with a clear message when a port of the node is taken by something else. */
export async function assertPortsFree(node: Pick<NodeConfig, 'name' | 'port' | 'controllerPort'>): Promise<void> {
  for (const [what, prt] of [
    ['Kafka port', node.port],
    ['Kafka controller port', node.controllerPort],
  ] as const) {
    if (await isPortOpen(prt)) {
      throw new InfraError(
        `${what} ${prt} on 127.0.0.1 is already in use by a process that is not the local broker "${node.name}" (see \`ss -ltnp 'sport = :${prt}'\`); stop it, or use other ports`,
      );
    }
  }
}

/**
 * Writes a node's config, formats its storage when new (with `clusterId`),
 * and starts its JVM detached. Returns the pid; does not wait for readiness.
 * The caller holds the node's lock and has checked that it is not running.
 */
export async function launchNode(node: NodeConfig, opts: { clusterId: string; fresh?: boolean; log: Logger }): Promise<number> {
  const p = brokerPaths(node.name, node.version);
  fs.rmSync(p.pidFile, { force: true }); // stale
  await assertPortsFree(node);
  assertJava();
  const classpath = await kafkaToolsClasspath({ version: node.version, log: opts.log });
  fs.mkdirSync(path.dirname(p.dataDir), { recursive: true });
  if (opts.fresh) fs.rmSync(p.dataDir, { recursive: true, force: true });
  fs.writeFileSync(p.propsFile, serverProperties(node));
  fs.writeFileSync(p.log4jFile, brokerLog4j());
  fs.writeFileSync(p.log4j2File, brokerLog4j2());
  if (fs.existsSync(p.logFile)) fs.renameSync(p.logFile, `${p.logFile}.1`); // keep one previous run
  if (!fs.existsSync(path.join(p.dataDir, 'meta.properties'))) {
    opts.log(`kafka: formatting storage of broker "${node.name}" in ${path.relative(REPO_ROOT, p.dataDir)}`);
    await formatStorage(classpath, node, opts.clusterId, p.logFile);
  }
  const out = fs.openSync(p.logFile, 'a');
  const child = spawn(
    'java',
    [
      ...(node.heapOpts ?? BROKER_JVM_OPTS),
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-Djava.awt.headless=true',
      ...loggingOpts(node.version, { log4j: p.log4jFile, log4j2: p.log4j2File }),
      `-Dkafka.logs.dir=${KAFKA_DIR}`,
      '-cp',
      classpath,
      'kafka.Kafka',
      p.propsFile,
    ],
    { cwd: REPO_ROOT, detached: true, stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw new InfraError(`could not start java for the Kafka broker "${node.name}"`);
  child.unref();
  fs.writeFileSync(p.pidFile, `${pid}\n`);
  return pid;
}

/** Waits until the node's JVM listens on its client port; throws with the end of its log if it dies first. */
export async function waitForPort(node: NodeConfig, pid: number, deadline: number): Promise<void> {
  const p = brokerPaths(node.name, node.version);
  for (;;) {
    if (!isPidAlive(pid)) {
      fs.rmSync(p.pidFile, { force: true });
      throw new InfraError(`Kafka broker "${node.name}" exited during start; end of ${p.logFile}:\n${logTail(p.logFile)}`);
    }
    if (await isPortOpen(node.port)) return;
    if (Date.now() > deadline) {
      throw new InfraError(`Kafka broker "${node.name}" did not open port ${node.port} in time; see ${p.logFile}`);
    }
    await sleep(200);
  }
}

/**
 * Starts a local single-node KRaft broker (broker + controller in one JVM),
 * detached, and waits until it is ready. Idempotent: a running broker of that
 * name is only checked. Fails with a clear message when a port is taken by
 * something else.
 */
export async function startBroker(opts: StartBrokerOptions = {}): Promise<BrokerInfo> {
  const name = opts.name ?? MAIN_BROKER;
  checkName(name);
  const port = opts.port ?? 9092;
  const controllerPort = opts.controllerPort ?? port + 1;
  const partitions = opts.partitions ?? topicPartitions();
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const version = opts.version ?? kafkaVersion();
  const log = opts.log ?? consoleLogger;
  const node: NodeConfig = { ...singleNode(name, port, controllerPort, partitions, version), extraProperties: opts.extraProperties };
  const p = brokerPaths(name, version);
  const bootstrap = `127.0.0.1:${port}`;
  const conn = { brokers: [bootstrap], clientId: `infra-${name}` };
  const info = (pid: number, alreadyRunning: boolean, runs = version): BrokerInfo => ({
    name,
    pid,
    port,
    controllerPort,
    bootstrap,
    logFile: p.logFile,
    dataDir: brokerPaths(name, runs).dataDir,
    version: runs,
    alreadyRunning,
  });

  return withFileLock(p.lockFile, async () => {
    const running = brokerPid(name);
    if (running !== undefined) {
      const ports = brokerPorts(name);
      if (ports && (ports.port !== port || ports.controllerPort !== controllerPort)) {
        throw new InfraError(
          `broker "${name}" is already running on ports ${ports.port}/${ports.controllerPort}, not ${port}/${controllerPort}; stop it first`,
        );
      }
      await waitForKafka(conn, { timeoutMs });
      return info(running, true, runningVersion(running) ?? version);
    }
    log(`kafka: starting broker "${name}" (Kafka ${version}) on ${bootstrap} (log: ${path.relative(REPO_ROOT, p.logFile)})`);
    return withProgress(log, `kafka: broker "${name}" starting`, async () => {
      const clusterId = formattedClusterId(p.dataDir) ?? randomClusterId();
      const pid = await launchNode(node, { clusterId, fresh: opts.fresh, log });
      const deadline = Date.now() + timeoutMs;
      await waitForPort(node, pid, deadline);
      try {
        await waitForKafka(conn, { timeoutMs: Math.max(deadline - Date.now(), 10_000) });
      } catch (e) {
        throw new InfraError(`${(e as Error).message}; see ${p.logFile}`);
      }
      return info(pid, false);
    });
  });
}

/** Sends `signal` to a pid, ignoring a process that is already gone. */
export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

/**
 * Stops local broker `name` (default `main`): SIGTERM (controlled shutdown),
 * up to `graceMs` (default 20 s) to exit, then SIGKILL; `graceMs: 0` kills it
 * at once (a crash). A stopped (SIGSTOP) broker is continued first so that
 * it can handle the SIGTERM. Returns whether it was running.
 */
export async function stopBroker(name: string = MAIN_BROKER, opts: { log?: Logger; graceMs?: number } = {}): Promise<boolean> {
  checkName(name);
  const log = opts.log ?? consoleLogger;
  const graceMs = opts.graceMs ?? 20_000;
  const p = brokerPaths(name);
  return withFileLock(p.lockFile, async () => {
    const pid = brokerPid(name);
    if (pid === undefined) {
      fs.rmSync(p.pidFile, { force: true });
      return false;
    }
    if (graceMs <= 0) {
      log(`kafka: killing broker "${name}" (pid ${pid})`);
      signalPid(pid, 'SIGKILL');
    } else {
      log(`kafka: stopping broker "${name}" (pid ${pid})`);
      signalPid(pid, 'SIGCONT');
      signalPid(pid, 'SIGTERM');
    }
    const deadline = Date.now() + graceMs;
    while (isPidAlive(pid) && Date.now() < deadline) await sleep(100);
    if (isPidAlive(pid)) {
      if (graceMs > 0) log(`kafka: broker "${name}" still running after ${graceMs} ms, killing it`);
      signalPid(pid, 'SIGKILL');
      while (isPidAlive(pid)) await sleep(50);
    }
    fs.rmSync(p.pidFile, { force: true });
    return true;
  });
}
