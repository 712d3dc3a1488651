import { ChildProcess, spawn } from 'node:child_process';
import { REPO_ROOT } from './paths';
import { pollUntil, StopWaiting } from './poll';

/** How an exited process ended: its exit code, or the name of the signal that ended it. */
export type ExitStatus = number | NodeJS.Signals;

/** When a started process counts as ready. */
export type Readiness =
  /** As soon as it is spawned. */
  | { kind: 'spawned' }
  /** Once it prints a line (stdout or stderr) that equals `line`, or matches it. */
  | { kind: 'line'; line: string | RegExp }
  /** Once `probe` returns true (polled every 250 ms; errors count as "not yet"). */
  | { kind: 'probe'; probe: () => Promise<boolean>; what?: string };

export interface NodeProcessOptions {
  /** For messages and log files. */
  name: string;
  /**
   * The script Node runs: a JavaScript file (an app's `nest build` bundle), or a
   * TypeScript file, run through ts-node (transpile only) with the repository's
   * tsconfig paths — a test harness that is not worth a build.
   */
  script: string;
  /** Options for Node itself, before the script (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
  /** Variables on top of this process's environment; every start uses the same. */
  env?: Record<string, string>;
  /** Gets each output line (stdout and stderr) as it comes. */
  onLine?: (line: string) => void;
  /** Keep the output lines in `lines` (default true; a long-running `npm start` turns it off). */
  keepLines?: boolean;
  /** When `start()` resolves (default: once spawned). */
  ready?: Readiness;
  /** Deadline for readiness at each `start()` (default 90 s). */
  readyTimeoutMs?: number;
}

/**
 * A Node script run as a process of its own, which a test (or `npm start`) can
 * start, stop gracefully, restart with the same environment, kill with any
 * signal, freeze (SIGSTOP) and thaw (SIGCONT). Its output is kept as lines,
 * across restarts and in order; `start()` resolves once it is ready, and fails
 * at once, with its last lines, when it exits before that.
 *
 * The one process runner of the repository: the apps (`AppProcess`), the
 * messaging suite's test consumer and the outbox suite's relay all run on it.
 */
export class NodeProcess {
  readonly name: string;
  /** Every output line of every run so far (unless `keepLines: false`). */
  readonly lines: string[] = [];
  private child: ChildProcess | undefined;
  private exit: Promise<ExitStatus> | undefined;
  private paused = false;
  /** Index in `lines` where the current (or last) run's output starts. */
  private runStart = 0;

  constructor(private readonly options: NodeProcessOptions) {
    this.name = options.name;
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

  /** The output lines of the current (or last) run only. */
  get runLines(): string[] {
    return this.lines.slice(this.runStart);
  }

  /** Starts the process without waiting for it to be ready (see {@link start}). */
  spawn(): this {
    if (this.running) throw new Error(`${this.name} is running already (pid ${this.child!.pid})`);
    const typescript = this.options.script.endsWith('.ts');
    const args = [
      ...(this.options.nodeArgs ?? []),
      ...(typescript ? ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register'] : []),
      this.options.script,
    ];
    const env = { ...process.env, ...(typescript ? { TS_NODE_TRANSPILE_ONLY: 'true' } : {}), ...this.options.env };
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.paused = false;
    this.runStart = this.lines.length;
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

  /** Starts the process (with its environment) and resolves once it is ready. */
  async start(): Promise<void> {
    this.spawn();
    await this.waitUntilReady(this.options.readyTimeoutMs ?? 90_000);
  }

  /** Waits until the process is ready (see {@link NodeProcessOptions.ready}); fails at once, with its last output lines, when it exits meanwhile. */
  async waitUntilReady(timeoutMs = 90_000): Promise<void> {
    const ready = this.options.ready ?? { kind: 'spawned' };
    if (ready.kind === 'spawned') return;
    await this.waitFor(
      async () => (ready.kind === 'line' ? this.runLines.some((line) => matches(line, ready.line)) : ready.probe()),
      { timeoutMs, intervalMs: ready.kind === 'line' ? 20 : 250, what: (ready.kind === 'probe' && ready.what) || `${this.name} ready` },
      'before it was ready',
    );
  }

  /**
   * Waits until this run prints a line that equals or matches `line`, and
   * returns it; fails at once, with the last lines, when the process exits first.
   */
  async waitForLine(line: string | RegExp, options: { timeoutMs?: number; what?: string } = {}): Promise<string> {
    const found = await this.waitFor(
      () => this.runLines.find((l) => matches(l, line)),
      {
        timeoutMs: options.timeoutMs ?? 60_000,
        intervalMs: 20,
        what: options.what ?? `${this.name} printing ${String(line)}`,
      },
      `before printing ${String(line)}`,
    );
    return found!;
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
    if (!this.running) return this.exit ?? 0;
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
   * SIGTERM (graceful: an app finishes in-flight messages and leaves its
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

  /** `stop()`, then `start()`: the same environment. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** {@link pollUntil} on `probe`, ended at once when the current run exits. */
  private waitFor<T>(probe: () => T | Promise<T>, options: { timeoutMs: number; intervalMs: number; what: string }, before: string): Promise<T> {
    const child = this.child;
    return pollUntil(async () => {
      if (!child || this.child !== child || !this.running) {
        // What it printed before exiting may hold what was waited for; otherwise it can no longer happen.
        const value = await Promise.resolve()
          .then(probe)
          .catch(() => undefined);
        if (value) return value;
        const tail = this.runLines.slice(-15).join('\n  ');
        throw new StopWaiting(`${this.name} exited (${child?.signalCode ?? child?.exitCode}) ${before}${tail ? `; its last lines:\n  ${tail}` : ''}`);
      }
      return probe();
    }, options);
  }

  private line(line: string): void {
    if (this.options.keepLines !== false) this.lines.push(line);
    this.options.onLine?.(line);
  }
}

function matches(line: string, expected: string | RegExp): boolean {
  return typeof expected === 'string' ? line === expected : expected.test(line);
}
