/**
 * `npm start`: the whole system on this machine.
 * First checks what it needs (Node, Java, Maven, PostgreSQL, free ports, disk
 * space) and stops with one line per problem before starting anything. Then
 * brings the infrastructure up if needed (Kafka from Maven Central jars, the
 * PostgreSQL databases), builds the three apps and the ops console (or reuses
 * builds newer than their sources), starts them (each runs its migrations),
 * waits until each is ready, prints their URLs, and stops them cleanly on
 * Ctrl-C. The broker keeps running (`npm run infra:down`). Progress is printed
 * at least every 5 s while anything slow runs (a line every 2.5 s). Without ADMIN_TOKEN it
 * generates one for the apps' admin endpoints and hands it to the console too;
 * without CONSOLE_ADMIN_TOKEN it generates the console's sign-in token and
 * prints it.
 */
// Only what the preflight needs is loaded before it runs (no Kafka client, no Nest, no builders), so
// that a missing Java or a taken port is reported a moment after `npm start`; the rest is loaded after it.
import { Apps } from '@lib/events/topics';
import { DEFAULT_PORTS } from '@lib/infra/config';
import { parseCommandLine } from '@lib/infra/cli';
import { preflight } from '@lib/infra/preflight';
import { PROGRESS_INTERVAL_MS } from '@lib/infra/util';
import type { BuildTarget, NodeProcess } from '@lib/infra';
import { randomBytes } from 'node:crypto';

const USAGE = `usage: npm start [-- --rebuild]

Checks what the system needs (Node 20.19+, Java 17+, Maven, PostgreSQL, free ports, disk space), brings up
Kafka and the databases (npm run infra:up), builds the three apps and the ops console unless their builds are newer than
the sources, starts them and waits until each app answers /health (and the console /health/ready). Ctrl-C stops them; Kafka keeps running.

  --rebuild   build the apps even when their builds are up to date

environment (or .env): ORDER_PORT, PAYMENT_PORT, NOTIFICATION_PORT, CONSOLE_PORT, ADMIN_TOKEN, CONSOLE_ADMIN_TOKEN, KAFKA_*, *_DATABASE_URL (see .env.example)`;

const COLORS: Record<BuildTarget, string> = { order: '\x1b[36m', payment: '\x1b[35m', notification: '\x1b[33m', console: '\x1b[32m' };
const RESET = '\x1b[0m';
const say = (line: string) => process.stdout.write(`${line}\n`);
const prefixed = (name: BuildTarget) => (line: string) => say(`${COLORS[name]}${name.padEnd(12)}${RESET} ${line}`);

/** One process `npm start` runs: an app or the console. */
interface Service {
  name: BuildTarget;
  url: string;
  /** What the readiness wait reports: an app's `/health` (everything, with reasons), the console's `/health/ready` (it has no `/health`). */
  healthPath: string;
  proc: NodeProcess;
}

type Infra = typeof import('@lib/infra');

/** The ops console as a process: its bundle, its port, ready once its /health/ready answers 200. */
function consoleService({ NodeProcess, distBundle }: Infra, env: Record<string, string>): Service {
  const url = `http://localhost:${process.env.CONSOLE_PORT ?? '3000'}`;
  const proc = new NodeProcess({
    name: 'console',
    script: distBundle('console'),
    env,
    keepLines: false,
    onLine: prefixed('console'),
    ready: {
      kind: 'probe',
      probe: async () => {
        const response = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(5000) });
        if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
        return true;
      },
      what: `console ready on ${url}`,
    },
  });
  return { name: 'console', url, healthPath: '/health/ready', proc };
}
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

async function main(): Promise<number> {
  const { values } = parseCommandLine({ usage: USAGE, options: { rebuild: { type: 'boolean' } } });
  const started = Date.now();
  const appPorts = Object.fromEntries(Apps.map((app) => [app, Number(process.env[`${app.toUpperCase()}_PORT`] ?? DEFAULT_PORTS[app])]));

  const check = await preflight({ appPorts });
  if (check.problems.length > 0) {
    for (const p of check.problems) say(`[preflight] ${p.line}`);
    say(`[preflight] ${check.problems.length} problem${check.problems.length === 1 ? '' : 's'} found in ${seconds(started)}; nothing was started`);
    return 1;
  }
  say(`[preflight] ok: ${check.notes.join(', ')} (${check.elapsedMs} ms)`);
  const infraModule: Infra = await import('@lib/infra');
  const { AppProcess, buildApp, buildIsFresh, infraUp } = infraModule;

  const infraStarted = Date.now();
  const infra = await infraUp({ log: (line: string) => say(`[infra] ${line}`) });
  const reused: string[] = [];
  if (!infra.startedBroker) reused.push('the running Kafka');
  if (infra.createdTopics.length === 0) reused.push('the topics');
  if (infra.createdDatabases.length === 0) reused.push('the databases');
  say(`[infra] ready in ${seconds(infraStarted)}`);

  let built = 0;
  const targets: BuildTarget[] = [...Apps, 'console'];
  for (const app of targets) {
    if (!values.rebuild && buildIsFresh(app)) {
      say(`[build] ${app}: dist/apps/${app}/main.js is newer than its sources, reused`);
      continue;
    }
    const t = Date.now();
    const ticker = setInterval(() => say(`[build] ${app}: nest build … ${seconds(t)}`), PROGRESS_INTERVAL_MS);
    try {
      await buildApp(app);
    } finally {
      clearInterval(ticker);
    }
    built += 1;
    say(`[build] ${app}: built in ${seconds(t)}`);
  }
  if (built === 0) reused.push('the four builds');

  // One admin token for the apps' /admin endpoints, known to the console.
  const adminToken = process.env.ADMIN_TOKEN?.trim() || randomBytes(18).toString('base64url');
  const env = { ADMIN_TOKEN: adminToken };
  const apps: Service[] = Apps.map((app) => {
    const proc = new AppProcess({ app, port: appPorts[app], env, keepLines: false, onLine: prefixed(app) });
    return { name: app, url: proc.url, healthPath: '/health', proc };
  });
  const consoleToken = process.env.CONSOLE_ADMIN_TOKEN?.trim() || randomBytes(18).toString('base64url');
  const opsConsole = consoleService(infraModule, { ...env, CONSOLE_ADMIN_TOKEN: consoleToken });
  const running = [...apps, opsConsole];
  for (const r of running) r.proc.spawn();

  let stopping = false;
  const stopAll = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`\n[start] ${signal}: stopping the apps and the console …`);
    const codes = await Promise.all(running.map((r) => r.proc.stop(10_000)));
    // Nest re-raises the signal after its graceful shutdown, so SIGTERM is a clean exit.
    const how = (code: number | string) => (code === 'SIGTERM' || code === 0 ? 'stopped' : `exited ${code}`);
    say(`[start] ${running.map((r, i) => `${r.name} ${how(codes[i])}`).join(', ')}; Kafka keeps running — npm run infra:down stops it`);
    process.exit(0);
  };
  process.on('SIGINT', () => void stopAll('SIGINT'));
  process.on('SIGTERM', () => void stopAll('SIGTERM'));
  for (const r of running) {
    void r.proc.exited.then((code) => {
      if (!stopping) {
        say(`[start] ${r.name} exited (${code}); stopping the others`);
        void stopAll('exit');
      }
    });
  }

  // Which app the wait is for, and why: its /health answer.
  const waitStarted = Date.now();
  const ready = new Set<BuildTarget>();
  const ticker = setInterval(() => {
    for (const r of running.filter((x) => !ready.has(x.name))) {
      fetch(`${r.url}${r.healthPath}`, { signal: AbortSignal.timeout(1500) }) // answered (or given up) before the next tick
        .then(async (res) =>
          say(`[start] waiting for ${r.name} (${seconds(waitStarted)}): ${r.healthPath} answers ${res.status} ${(await res.text()).slice(0, 200)}`),
        )
        .catch((e: Error) => say(`[start] waiting for ${r.name} (${seconds(waitStarted)}): ${r.healthPath} does not answer yet (${e.message})`));
    }
  }, PROGRESS_INTERVAL_MS);
  try {
    await Promise.all(
      running.map(async (r) => {
        await r.proc.waitUntilReady(90_000);
        ready.add(r.name);
        say(`[start] ${r.name} ready after ${seconds(waitStarted)}`);
      }),
    );
  } finally {
    clearInterval(ticker);
  }
  say('');
  say(`[start] all three apps and the console are ready in ${seconds(started)}:`);
  for (const r of apps) say(`         ${r.name.padEnd(13)} ${r.url}   (health: ${r.url}/health)`);
  say(`         ${'console'.padEnd(13)} ${opsConsole.url}   (ops console: overview, dead letters, order journeys)`);
  if (!process.env.CONSOLE_ADMIN_TOKEN) say(`[start] console sign-in token (generated; CONSOLE_ADMIN_TOKEN sets one): ${consoleToken}`);
  if (reused.length === 5) say('[start] reused everything: the running Kafka, the topics, the databases and the four builds');
  else if (reused.length > 0) say(`[start] reused ${reused.join(', ')}`);
  say('[start] try it:  npm run demo        — or see README.md; Ctrl-C stops the apps');
  return -1; // keeps running
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: Error) => {
    process.stderr.write(`npm start failed: ${error.message}\n`);
    process.exit(1);
  },
);
