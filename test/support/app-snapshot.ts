import { AppName } from '@lib/events';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp, DEFAULT_PORTS, RunningApp } from '../../scripts/run/app-process';

const ROOT = join(__dirname, '..', '..');

/**
 * Builds an app with `nest build` and copies its bundle to a directory of the
 * suite's own. `dist/apps/<app>` is shared: another suite or `npm start`
 * rebuilding it (the Nest CLI empties the folder first) would otherwise pull
 * the bundle from under a suite that restarts an app mid-run.
 * The copy stays inside the repository, so the bundle's `require`s of
 * node_modules resolve exactly as they do from dist/.
 */
export async function buildSnapshot(app: AppName, suite: string): Promise<string> {
  const target = join(ROOT, '.local', 'e2e-bundles', suite, app, 'main.js');
  mkdirSync(join(target, '..'), { recursive: true });
  for (let attempt = 1; ; attempt++) {
    try {
      copyFileSync(await buildApp(app), target);
      return target;
    } catch (error) {
      // Someone else's `nest build <app>` ran at the same time: it empties dist/apps/<app>
      // before writing, which fails our build or removes its output before the copy.
      if (attempt >= 3) throw new Error(`nest build ${app} failed ${attempt} times; last: ${describe(error)}`);
    }
  }
}

/**
 * Starts a bundle as its own process, exactly as `startApp` of
 * scripts/run/app-process does (`node <bundle>`, repository root as working
 * directory, `<APP>_PORT` set), from a snapshot made by `buildSnapshot`.
 */
export function startSnapshot(app: AppName, bundle: string, options: { env?: Record<string, string>; onLine?: (line: string) => void } = {}): RunningApp {
  const portVar = `${app.toUpperCase()}_PORT`;
  const port = Number(options.env?.[portVar] ?? process.env[portVar] ?? DEFAULT_PORTS[app]);
  const child = spawn(process.execPath, [bundle], {
    cwd: ROOT,
    env: { ...process.env, [portVar]: String(port), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    let buffer = '';
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) options.onLine?.(line);
    });
  }
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 0)));
  return { app, port, url: `http://localhost:${port}`, process: child, exited };
}

/** execFile's error carries the compiler's output; keep its end, that is where webpack reports. */
function describe(error: unknown): string {
  const e = error as { message?: string; stdout?: string; stderr?: string };
  return [e.message, e.stdout?.slice(-2000), e.stderr?.slice(-2000)].filter(Boolean).join('\n');
}
