import { AppName } from '@lib/events';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..', '..');
export const DEFAULT_PORTS: Record<AppName, number> = { order: 3001, payment: 3002, notification: 3003 };

/** Builds one app with the Nest CLI (webpack bundle in dist/apps/<app>/main.js), as `nest build <app>` does. */
export async function buildApp(app: AppName): Promise<string> {
  try {
    await promisify(execFile)(join(ROOT, 'node_modules', '.bin', 'nest'), ['build', app], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    // The compiler's report is at the end of its output.
    const e = error as { stdout?: string; stderr?: string };
    throw new Error(`nest build ${app} failed:\n${[e.stdout, e.stderr].filter(Boolean).join('\n').slice(-3000)}`);
  }
  const bundle = join(ROOT, 'dist', 'apps', app, 'main.js');
  if (!existsSync(bundle)) throw new Error(`nest build ${app} produced no ${bundle}`);
  return bundle;
}

export interface RunningApp {
  app: AppName;
  port: number;
  url: string;
  process: ChildProcess;
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<number | string>;
}

/**
 * Starts a built app as its own process — exactly what `node dist/apps/<app>/main.js`
 * or `nest start <app>` runs — with extra environment variables; `bundle`
 * runs a copy of the bundle instead (see test/support/app-snapshot.ts).
 * Output lines are handed to `onLine`, prefixed by the caller as it likes.
 */
export function startApp(
  app: AppName,
  options: { env?: Record<string, string>; onLine?: (line: string) => void; bundle?: string } = {},
): RunningApp {
  const portVar = `${app.toUpperCase()}_PORT`;
  const port = Number(options.env?.[portVar] ?? process.env[portVar] ?? DEFAULT_PORTS[app]);
  const child = spawn(process.execPath, [options.bundle ?? join(ROOT, 'dist', 'apps', app, 'main.js')], {
    cwd: ROOT,
    env: { ...process.env, [portVar]: String(port), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    let buffer = '';
    stream?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) options.onLine?.(line);
    });
  }
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 0)));
  return { app, port, url: `http://localhost:${port}`, process: child, exited };
}

/** Waits until `GET /health/ready` answers 200, or the process died, or the deadline passed. */
export async function waitUntilReady(running: RunningApp, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let dead = false;
  void running.exited.then(() => (dead = true));
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (dead) throw new Error(`${running.app} exited before it was ready`);
    try {
      const response = await fetch(`${running.url}/health/ready`, { signal: AbortSignal.timeout(5000) });
      if (response.ok) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${running.app} not ready within ${timeoutMs} ms: ${last}`);
}

/** SIGTERM (graceful: in-flight messages finish, the consumer leaves its group), then SIGKILL after `graceMs`. */
export async function stopApp(running: RunningApp, graceMs = 10_000): Promise<number | string> {
  if (running.process.exitCode !== null || running.process.signalCode !== null) return running.exited;
  running.process.kill('SIGTERM');
  const timer = setTimeout(() => running.process.kill('SIGKILL'), graceMs);
  try {
    return await running.exited;
  } finally {
    clearTimeout(timer);
  }
}
