import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { databaseUrls, infraKafkaConnection, isLocalMainBroker, kafkaBrokers, mainPort, parseDatabaseUrl } from './config';
import { dockerRequested } from './docker';
import { isKafkaFetched } from './kafka-dist';
import { REPO_ROOT, brokerPaths } from './paths';
import { commandExists, isPortOpen, readPid } from './util';
import { kafkaVersion } from './versions';

/** One thing that stops the start, with what fixes it. */
export interface PreflightProblem {
  /** `java`, `maven`, `node`, `postgres`, `port`, `disk`. */
  check: string;
  /** One line: what is wrong, then the fix on Debian/Ubuntu and macOS, and the Docker alternative where there is one. */
  line: string;
}

export interface PreflightOptions {
  /** HTTP ports that must be free (npm start: the three apps' ports). */
  appPorts?: Record<string, number>;
  env?: NodeJS.ProcessEnv;
}

export interface PreflightResult {
  problems: PreflightProblem[];
  /** What was found and is fine (one short line each), for the progress output. */
  notes: string[];
  elapsedMs: number;
}

const MIN_NODE = [20, 19];
/** The broker infra:up starts (`MAIN_BROKER` of ./broker, not imported: see mainBrokerRunsOn). */
const MAIN_BROKER_NAME = 'main';
const MIN_JAVA = 17;
/** The jars (~120 MB) plus room for the broker's data and the builds. */
const MIN_FREE_MB = 1024;
const DOCKER = 'or Docker: INFRA_MODE=docker npm start (Kafka and PostgreSQL from docker-compose.kafka.yml)';

/** Major version of the `java` on PATH, or undefined when there is none. Asynchronous: the JVM takes a moment to answer, and the other checks run meanwhile. */
export async function javaMajorVersion(): Promise<number | undefined> {
  if (!commandExists('java')) return undefined;
  const output = await new Promise<string>((resolve) => {
    execFile('java', ['-version'], { encoding: 'utf8', timeout: 10_000 }, (_error, stdout, stderr) => resolve(`${stderr}${stdout}`));
  });
  const m = /version "(\d+)(?:\.(\d+))?/.exec(output);
  if (!m) return undefined;
  const major = Number(m[1]);
  return major === 1 ? Number(m[2]) : major; // "1.8.0" is Java 8
}

/** Client ports of a PostgreSQL cluster this machine can start (Debian's pg_lsclusters). */
function startablePostgresPorts(): number[] {
  if (!commandExists('pg_lsclusters') || !commandExists('pg_ctlcluster')) return [];
  const r = spawnSync('pg_lsclusters', ['--no-header'], { encoding: 'utf8', timeout: 5000 });
  return (r.stdout ?? '')
    .split('\n')
    .map((line) => Number(line.trim().split(/\s+/)[2]))
    .filter((n) => Number.isInteger(n) && n > 0);
}

async function kafkaAnswers(brokers: string[]): Promise<boolean> {
  const connection = infraKafkaConnection(brokers, 'preflight'); // bad settings: an error naming the variable, not "Kafka not answering"
  try {
    const { waitForKafka } = await import('@lib/kafka/admin'); // loaded only when a port is taken: kafkajs is slow to load
    // A program that is not Kafka may never answer a Kafka request: one short attempt, not kafkajs's 30 s.
    await waitForKafka({ ...connection, connectionTimeout: 1000, requestTimeout: 1500 }, { timeoutMs: 1500 });
    return true;
  } catch {
    return false;
  }
}

/** Whether infra:up's own broker runs on `port`; the broker module (and kafkajs with it) is loaded only when it has a pid file. */
async function mainBrokerRunsOn(port: number): Promise<boolean> {
  if (readPid(brokerPaths(MAIN_BROKER_NAME).pidFile) === undefined) return false;
  const { brokerPid, brokerPorts } = await import('./broker');
  return brokerPid(MAIN_BROKER_NAME) !== undefined && brokerPorts(MAIN_BROKER_NAME)?.port === port;
}

/**
 * What `npm start` and `infra:up` check before doing anything slow: Node's
 * version, Java 17+ and Maven (when Kafka must be started from jars /
 * fetched), PostgreSQL (installed, reachable, or startable), free ports (the
 * local Kafka's client and controller ports, the apps' ports) and disk space.
 * Starts nothing and changes nothing; a few seconds at most.
 */
export async function preflight(opts: PreflightOptions = {}): Promise<PreflightResult> {
  const started = Date.now();
  const env = opts.env ?? process.env;
  const problems: PreflightProblem[] = [];
  const notes: string[] = [];
  const problem = (check: string, line: string) => problems.push({ check, line });

  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1])) {
    problem(
      'node',
      `Node.js ${process.versions.node} is too old (20.19+ needed, 24 recommended) — nvm install (reads .nvmrc) · Debian/Ubuntu: https://github.com/nodesource/distributions (nodejs 24) · macOS: brew install node@24`,
    );
  } else notes.push(`Node.js ${process.versions.node}`);

  const brokers = kafkaBrokers(env);
  const port = mainPort(env);
  const docker = dockerRequested(env);
  const local = isLocalMainBroker(brokers, env) && !docker;
  const ourBrokerRuns = await mainBrokerRunsOn(port);

  if (docker) {
    if (!commandExists('docker')) {
      problem(
        'docker',
        'INFRA_MODE=docker but no docker on PATH — Debian/Ubuntu: sudo apt-get install docker.io docker-compose-v2 · macOS: brew install --cask docker · or unset INFRA_MODE to run Kafka from jars',
      );
    }
  } else if (local && !ourBrokerRuns) {
    const portTaken = await isPortOpen(port);
    // Asked while the taken port is probed for a Kafka (up to 1.5 s); unused when one answers there.
    const java = javaMajorVersion();
    if (portTaken && (await kafkaAnswers(brokers))) {
      notes.push(`a Kafka not started here answers on localhost:${port}; it will be used`);
    } else {
      for (const p of portTaken ? [port] : [port + 1]) {
        if (!portTaken && !(await isPortOpen(p))) continue;
        problem(
          'port',
          `port ${p} (${p === port ? 'Kafka client' : 'Kafka controller'}) is taken by another program, not a Kafka — see it with: ss -ltnp 'sport = :${p}' (Debian/Ubuntu) · lsof -nP -iTCP:${p} -sTCP:LISTEN (macOS); stop it, or set KAFKA_PORT and KAFKA_BROKERS in .env to a free port`,
        );
      }
      const javaMajor = await java;
      if (javaMajor === undefined) {
        problem(
          'java',
          `Java not found on PATH (Kafka needs Java ${MIN_JAVA}+) — Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless · macOS: brew install openjdk@17 · ${DOCKER}`,
        );
      } else if (javaMajor < MIN_JAVA) {
        problem(
          'java',
          `Java ${javaMajor} found, Kafka needs ${MIN_JAVA}+ — Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless · macOS: brew install openjdk@17 · ${DOCKER}`,
        );
      } else notes.push(`Java ${javaMajor}`);
      if (!isKafkaFetched(kafkaVersion(env))) {
        if (!commandExists('mvn')) {
          problem(
            'maven',
            `Maven not found on PATH (it fetches the Kafka jars from Maven Central once) — Debian/Ubuntu: sudo apt-get install -y maven · macOS: brew install maven · ${DOCKER}`,
          );
        } else notes.push('Maven (the Kafka jars will be fetched once)');
      }
    }
  } else if (ourBrokerRuns) notes.push(`Kafka already runs on localhost:${port}`);

  const servers = new Map<string, { host: string; port: number }>();
  for (const url of Object.values(databaseUrls(env))) {
    const { host, port: pgPort } = parseDatabaseUrl(url);
    servers.set(`${host}:${pgPort}`, { host, port: pgPort });
  }
  const startable = startablePostgresPorts();
  for (const { host, port: pgPort } of servers.values()) {
    if (docker) break; // compose brings PostgreSQL
    const probeHost = host === 'localhost' ? '127.0.0.1' : host.replace(/^\[|\]$/g, '');
    if (await isPortOpen(pgPort, probeHost)) {
      notes.push(`PostgreSQL on ${host}:${pgPort}`);
      continue;
    }
    const isLocal = ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host);
    if (isLocal && startable.includes(pgPort)) {
      notes.push(`PostgreSQL on ${host}:${pgPort} is stopped; infra:up starts it (pg_ctlcluster)`);
      continue;
    }
    const installed = ['pg_ctl', 'pg_ctlcluster', 'postgres', 'psql'].some(commandExists);
    const what = !isLocal
      ? `PostgreSQL at ${host}:${pgPort} is not reachable — check the *_DATABASE_URL variables in .env and that server`
      : installed
        ? `PostgreSQL on ${host}:${pgPort} is not reachable and no cluster here listens on that port — Debian/Ubuntu: sudo systemctl start postgresql · macOS: brew services start postgresql@16`
        : `PostgreSQL is not installed (the apps need one on ${host}:${pgPort}) — Debian/Ubuntu: sudo apt-get install -y postgresql · macOS: brew install postgresql@16 && brew services start postgresql@16`;
    problem('postgres', `${what} · or Docker: docker compose -f docker-compose.kafka.yml up -d postgres`);
  }

  for (const [app, appPort] of Object.entries(opts.appPorts ?? {})) {
    if (await isPortOpen(appPort)) {
      problem(
        'port',
        `port ${appPort} (the ${app} app) is taken — a previous npm start still running? see it with: ss -ltnp 'sport = :${appPort}' (Debian/Ubuntu) · lsof -nP -iTCP:${appPort} -sTCP:LISTEN (macOS); stop it, or set ${app.toUpperCase()}_PORT in .env`,
      );
    }
  }

  try {
    const s = fs.statfsSync(REPO_ROOT);
    const freeMb = Math.floor((Number(s.bavail) * Number(s.bsize)) / 1024 / 1024);
    if (freeMb < MIN_FREE_MB) {
      problem(
        'disk',
        `only ${freeMb} MB free on the disk of ${REPO_ROOT} (${MIN_FREE_MB} MB needed for the Kafka jars, its data and the builds) — free some space (df -h; npm cache clean --force; rm -rf .local/kafka/*/data)`,
      );
    } else notes.push(`${(freeMb / 1024).toFixed(1)} GB free`);
  } catch {
    /* statfs unsupported: not worth stopping for */
  }
  return { problems, notes, elapsedMs: Date.now() - started };
}
