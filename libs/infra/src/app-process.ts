import { AppName } from '@lib/events';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './paths';
import { pollUntil, StopWaiting } from './poll';

/** The HTTP ports the apps listen on by default (architecture: services table). */
export const DEFAULT_PORTS: Record<AppName, number> = { order: 3001, payment: 3002, notification: 3003 };

/** Where `nest build <app>` puts an app's webpack bundle. */
export function distBundle(app: AppName): string {
  return join(REPO_ROOT, 'dist', 'apps', app, 'main.js');
}

/** Builds one app with the Nest CLI (webpack bundle in dist/apps/<app>/main.js), as `nest build <app>` does. */
export async function buildApp(app: AppName): Promise<string> {
  try {
    await promisify(execFile)(join(REPO_ROOT, 'node_modules', '.bin', 'nest'), ['build', app], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    // The compiler's report is at the end of its output.
    const e = error as { stdout?: string; stderr?: string };
    throw new Error(`nest build ${app} failed:\n${[e.stdout, e.stderr].filter(Boolean).join('\n').slice(-3000)}`);
  }
  const bundle = distBundle(app);
  if (!existsSync(bundle)) throw new Error(`nest build ${app} produced no ${bundle}`);
  return bundle;
}

/** How an exited process ended: its exit code, or the name of the signal that ended it. */
export type ExitStatus = number | NodeJS.Signals;

export interface AppProcessOptions {
  app: AppName;
  /** For messages and log files (default: the app's name). */
  name?: string;
  /** The bundle to run (default `dist/apps/<app>/main.js`, what `nest build` writes). */
  bundle?: string;
  /** HTTP port (default `<APP>_PORT` of `env` or of this process, else the app's default port). */
  port?: number;
  /** Variables on top of this process's environment; every start uses the same. */
  env?: Record<string, string>;
  /** Gets each output line (stdout and stderr) as it comes. */
  onLine?: (line: string) => void;
  /** Keep the output lines in `lines` (default true; a long-running `npm start` turns it off). */
  keepLines?: boolean;
  /** Deadline for `/health/ready` at each `start()` (default 90 s). */
  readyTimeoutMs?: number;
}

/**
 * A built app run as its own process — exactly what `node dist/apps/<app>/main.js`
 * or `nest start <app>` runs. It can be started, stopped, restarted (same
 * environment, same port), killed with any signal, frozen (SIGSTOP) and
 * thawed (SIGCONT); its output lines are kept across restarts, in order.
 * `npm start` runs the apps with it, and so does the test toolkit
 * (`startSystem` in `@lib/testing`), for the e2e suites and the benchmarks.
 */
export class AppProcess {
  readonly app: AppName;
  readonly name: string;
  readonly port: number;
  /** `http://localhost:<port>`. */
  readonly url: string;
  /** Every output line of every run so far (unless `keepLines: false`). */
  readonly lines: string[] = [];
  private readonly bundle: string;
  private readonly env: Record<string, string>;
  private child: ChildProcess | undefined;
  private exit: Promise<ExitStatus> | undefined;
  private paused = false;

  constructor(private readonly options: AppProcessOptions) {
    const portVar = `${options.app.toUpperCase()}_PORT`;
    this.app = options.app;
    this.name = options.name ?? options.app;
    this.port = options.port ?? Number(options.env?.[portVar] ?? process.env[portVar] ?? DEFAULT_PORTS[options.app]);
    this.url = `http://localhost:${this.port}`;
    this.bundle = options.bundle ?? distBundle(options.app);
    this.env = { ...options.env, [portVar]: String(this.port) };
  }

  /** The process id of the current run, while it runs. */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /** Whether the process runs (frozen counts as running). */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Whether it is frozen by {@link pause}. */
  get isPaused(): boolean {
    return this.running && this.paused;
  }

  /** Resolves with how the current (or last) run ended. */
  get exited(): Promise<ExitStatus> {
    if (!this.exit) throw new Error(`${this.name} has not been started`);
    return this.exit;
  }

  /** Starts the process without waiting for it to be ready (see {@link start}). */
  spawn(): this {
    if (this.running) throw new Error(`${this.name} is running already (pid ${this.child!.pid})`);
    const child = spawn(process.execPath, [this.bundle], { cwd: REPO_ROOT, env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.paused = false;
    for (const stream of [child.stdout, child.stderr]) {
      let buffer = '';
      stream.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8');
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const line of lines) this.line(line);
      });
      stream.on('end', () => buffer && this.line(buffer));
    }
    this.exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code ?? 0)));
    return this;
  }

  /** Starts the process (on its port, with its environment) and resolves once it is ready. */
  async start(): Promise<void> {
    this.spawn();
    await this.waitUntilReady(this.options.readyTimeoutMs ?? 90_000);
  }

  /** Waits until `GET /health/ready` answers 200; fails at once, with its last output lines, when the process exits meanwhile. */
  async waitUntilReady(timeoutMs = 90_000): Promise<void> {
    const child = this.child;
    await pollUntil(
      async () => {
        if (!child || !this.running || this.child !== child) {
          const tail = this.lines.slice(-15).join('\n  ');
          throw new StopWaiting(
            `${this.name} exited (${child?.signalCode ?? child?.exitCode}) before it was ready${tail ? `; its last lines:\n  ${tail}` : ''}`,
          );
        }
        const response = await fetch(`${this.url}/health/ready`, { signal: AbortSignal.timeout(5000) });
        if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
        return true;
      },
      { timeoutMs, intervalMs: 250, what: `${this.name} ready on ${this.url}` },
    );
  }

  /** Sends `signal` to the process (nothing when it is not running). */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    this.child!.kill(signal);
    if (signal === 'SIGSTOP') this.paused = true;
    if (signal === 'SIGCONT') this.paused = false;
  }

  /** Sends `signal` (default SIGKILL) and resolves with how the process ended. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitStatus> {
    if (!this.running) return this.exited;
    this.signal(signal);
    return this.exited;
  }

  /** Freezes the process (SIGSTOP): it keeps its sockets and group membership but answers nothing, heartbeats included. */
  pause(): void {
    this.signal('SIGSTOP');
  }

  /** Thaws a frozen process (SIGCONT); it carries on where it stopped, with whatever state it had. */
  resume(): void {
    this.signal('SIGCONT');
  }

  /**
   * SIGTERM (graceful: in-flight messages finish, the consumer leaves its
   * group), then SIGKILL after `graceMs`. A frozen process is thawed first,
   * since it would not act on SIGTERM. Resolves with how it ended.
   */
  async stop(graceMs = 10_000): Promise<ExitStatus> {
    if (!this.running) return this.exit ?? 0;
    if (this.paused) this.resume();
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** `stop()`, then `start()`: the same environment and port. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  private line(line: string): void {
    if (this.options.keepLines !== false) this.lines.push(line);
    this.options.onLine?.(line);
  }
}
