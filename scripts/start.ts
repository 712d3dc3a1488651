/**
 * `npm start`: the whole system on this machine.
 * Brings the infrastructure up if needed (Kafka from Maven Central jars, the
 * three PostgreSQL databases), builds the three apps, starts them (each runs
 * its migrations), waits until each is ready, prints their URLs, and stops
 * them cleanly on Ctrl-C. The broker keeps running (`npm run infra:down`).
 */
import { Apps, AppName } from '@lib/events';
import { AppProcess, buildApp, infraUp, loadDotEnv } from '@lib/infra';

const COLORS: Record<AppName, string> = { order: '\x1b[36m', payment: '\x1b[35m', notification: '\x1b[33m' };
const RESET = '\x1b[0m';
const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  loadDotEnv();
  await infraUp({ log: (line: string) => say(`[infra] ${line}`) });

  say('[build] nest build order, payment, notification …');
  for (const app of Apps) await buildApp(app);

  const running = Apps.map((app) =>
    new AppProcess({ app, keepLines: false, onLine: (line) => say(`${COLORS[app]}${app.padEnd(12)}${RESET} ${line}`) }).spawn(),
  );

  let stopping = false;
  const stopAll = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`\n[start] ${signal}: stopping the apps …`);
    const codes = await Promise.all(running.map((r) => r.stop(10_000)));
    // Nest re-raises the signal after its graceful shutdown, so SIGTERM is a clean exit.
    const how = (code: number | string) => (code === 'SIGTERM' || code === 0 ? 'stopped' : `exited ${code}`);
    say(`[start] ${running.map((r, i) => `${r.app} ${how(codes[i])}`).join(', ')}; Kafka keeps running — npm run infra:down stops it`);
    process.exit(0);
  };
  process.on('SIGINT', () => void stopAll('SIGINT'));
  process.on('SIGTERM', () => void stopAll('SIGTERM'));
  for (const r of running) {
    void r.exited.then((code) => {
      if (!stopping) {
        say(`[start] ${r.app} exited (${code}); stopping the others`);
        void stopAll('exit');
      }
    });
  }

  await Promise.all(running.map((r) => r.waitUntilReady(90_000)));
  say('');
  say(`[start] all three apps are ready in ${((Date.now() - started) / 1000).toFixed(1)} s:`);
  for (const r of running) say(`         ${r.app.padEnd(13)} ${r.url}   (health: ${r.url}/health/ready)`);
  say('[start] try it:  npm run demo        — or see README.md; Ctrl-C stops the apps');
}

main().catch((error: Error) => {
  process.stderr.write(`npm start failed: ${error.message}\n`);
  process.exit(1);
});
