import { AppName } from '@lib/events';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_PORTS } from './config';
import { REPO_ROOT } from './paths';
import { NodeProcess } from './node-process';

/** The HTTP ports the apps listen on by default (architecture: services table); kept in ./config, which the preflight loads. */
export { DEFAULT_PORTS };

/** What `nest build` builds: the three apps and the ops console. */
export type BuildTarget = AppName | 'console';

/** Where `nest build <app>` puts an app's webpack bundle. */
export function distBundle(app: BuildTarget): string {
  return join(REPO_ROOT, 'dist', 'apps', app, 'main.js');
}

/** Builds one app with the Nest CLI (webpack bundle in dist/apps/<app>/main.js), as `nest build <app>` does. */
export async function buildApp(app: BuildTarget): Promise<string> {
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

/** Newest modification time (ms) of the files under `dir` (skipping node_modules), 0 when there are none. */
function newestMtime(dir: string): number {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  }
  for (const e of entries) {
    if (e.name === 'node_modules') continue;
    const full = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(full) : (statSync(full, { throwIfNoEntry: false })?.mtimeMs ?? 0));
  }
  return newest;
}

/**
 * True when `dist/apps/<app>/main.js` is newer than everything it is built
 * from (the app, the libraries, the TypeScript and Nest settings, the
 * dependency lock), so `npm start` can reuse it instead of building again.
 */
export function buildIsFresh(app: BuildTarget): boolean {
  const bundle = statSync(distBundle(app), { throwIfNoEntry: false });
  if (!bundle) return false;
  const sources = [
    join(REPO_ROOT, 'apps', app),
    join(REPO_ROOT, 'libs'),
    ...['tsconfig.json', 'nest-cli.json', 'package-lock.json'].map((f) => join(REPO_ROOT, f)),
  ];
  return sources.every((source) => newestMtime(source) < bundle.mtimeMs);
}

export interface AppProcessOptions {
  app: AppName;
  /** For messages and log files (default: the app's name). */
  name?: string;
  /** The bundle to run (default `dist/apps/<app>/main.js`, what `nest build` writes). */
  bundle?: string;
  /** HTTP port (default `<APP>_PORT` of `env` or of this process, else the app's default port). */
  port?: number;
  /** Options for Node itself, before the bundle (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** Variables on top of this process's environment; every start uses the same. */
  env?: Record<string, string>;
  /** Gets each output line (stdout and stderr) as it comes. */
  onLine?: (line: string) => void;
  /** Keep the output lines in `lines` (default true; a long-running `npm start` turns it off). */
  keepLines?: boolean;
  /** Deadline for `readyPath` at each `start()` (default 90 s). */
  readyTimeoutMs?: number;
  /**
   * What `start()` waits for: `/health` (default; everything up — database,
   * Kafka, consumer joined, outbox) or `/health/ready` (the HTTP API can serve).
   */
  readyPath?: '/health' | '/health/ready' | '/health/live';
}

/**
 * A built app run as its own process — exactly what `node dist/apps/<app>/main.js`
 * or `nest start <app>` runs — on the repository's one process runner
 * ({@link NodeProcess}: start, stop, restart with the same environment and
 * port, kill with any signal, SIGSTOP/SIGCONT, output lines across restarts).
 * It counts as started once `GET /health` answers 200 (everything up; `readyPath` to wait for less). `npm start` runs the apps
 * with it, and so does the test toolkit (`startSystem` in `@lib/testing`), for
 * the e2e suites and the benchmarks.
 */
export class AppProcess extends NodeProcess {
  readonly app: AppName;
  readonly port: number;
  /** `http://localhost:<port>`. */
  readonly url: string;

  constructor(options: AppProcessOptions) {
    const portVar = `${options.app.toUpperCase()}_PORT`;
    const port = options.port ?? Number(options.env?.[portVar] ?? process.env[portVar] ?? DEFAULT_PORTS[options.app]);
    const url = `http://localhost:${port}`;
    super({
      name: options.name ?? options.app,
      script: options.bundle ?? distBundle(options.app),
      nodeArgs: options.nodeArgs,
      env: { ...options.env, [portVar]: String(port) },
      onLine: options.onLine,
      keepLines: options.keepLines,
      readyTimeoutMs: options.readyTimeoutMs,
      ready: {
        kind: 'probe',
        probe: async () => {
          const response = await fetch(`${url}${options.readyPath ?? '/health'}`, { signal: AbortSignal.timeout(5000) });
          if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
          return true;
        },
        what: `${options.name ?? options.app} up on ${url}${options.readyPath ?? '/health'}`,
      },
    });
    this.app = options.app;
    this.port = port;
    this.url = url;
  }
}
