/**
 * `npm start`: the whole system on this machine.
 * Brings the infrastructure up if needed (Kafka from Maven Central jars, the
 * PostgreSQL databases), builds the three apps and the ops console, starts
 * them (each runs its migrations), waits until each is ready, prints their
 * URLs, and stops them cleanly on Ctrl-C. The broker keeps running
 * (`npm run infra:down`). Without ADMIN_TOKEN it generates one for the apps'
 * admin endpoints and hands it to the console too; without
 * CONSOLE_ADMIN_TOKEN it generates the console's sign-in token and prints it.
 */
import { Apps, AppName } from '@lib/events';
import { AppProcess, buildApp, distBundle, infraUp, loadDotEnv, NodeProcess } from '@lib/infra';
import { randomBytes } from 'node:crypto';

const COLORS: Record<AppName | 'console', string> = { order: '\x1b[36m', payment: '\x1b[35m', notification: '\x1b[33m', console: '\x1b[32m' };
const RESET = '\x1b[0m';
const say = (line: string) => process.stdout.write(`${line}\n`);
const prefixed = (name: AppName | 'console') => (line: string) => say(`${COLORS[name]}${name.padEnd(12)}${RESET} ${line}`);

/** The ops console as a process: its bundle, its port, ready once its /health/ready answers 200. */
function consoleProcess(env: Record<string, string>): { process: NodeProcess; url: string } {
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
  return { process: proc, url };
}

async function main(): Promise<void> {
  const started = Date.now();
  loadDotEnv();
  await infraUp({ log: (line: string) => say(`[infra] ${line}`) });

  say('[build] nest build order, payment, notification, console …');
  for (const app of [...Apps, 'console' as const]) await buildApp(app);

  // One admin token for the apps' /admin endpoints, known to the console.
  const adminToken = process.env.ADMIN_TOKEN?.trim() || randomBytes(18).toString('base64url');
  const env = { ADMIN_TOKEN: adminToken };
  const apps = Apps.map((app) => new AppProcess({ app, env, keepLines: false, onLine: prefixed(app) }).spawn());
  const consoleToken = process.env.CONSOLE_ADMIN_TOKEN?.trim() || randomBytes(18).toString('base64url');
  const opsConsole = consoleProcess({ ...env, CONSOLE_ADMIN_TOKEN: consoleToken });
  opsConsole.process.spawn();
  const running: { name: string; proc: NodeProcess }[] = [...apps.map((a) => ({ name: a.app, proc: a })), { name: 'console', proc: opsConsole.process }];

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

  await Promise.all(running.map((r) => r.proc.waitUntilReady(90_000)));
  say('');
  say(`[start] all three apps and the console are ready in ${((Date.now() - started) / 1000).toFixed(1)} s:`);
  for (const r of apps) say(`         ${r.app.padEnd(13)} ${r.url}   (health: ${r.url}/health/ready)`);
  say(`         ${'console'.padEnd(13)} ${opsConsole.url}   (ops console: overview, dead letters, order journeys)`);
  if (!process.env.CONSOLE_ADMIN_TOKEN) say(`[start] console sign-in token (generated; CONSOLE_ADMIN_TOKEN sets one): ${consoleToken}`);
  say('[start] try it:  npm run demo        — or see README.md; Ctrl-C stops the apps');
}

main().catch((error: Error) => {
  process.stderr.write(`npm start failed: ${error.message}\n`);
  process.exit(1);
});
