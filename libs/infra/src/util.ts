import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

/** Where infra code prints its short progress lines. */
export type Logger = (line: string) => void;
export const consoleLogger: Logger = (line) => console.log(line);
export const silentLogger: Logger = () => undefined;

/** A failure with one clear line for the user (the CLI prints only the message). */
export class InfraError extends Error {
  override name = 'InfraError';
}

/**
 * How often a long step (Kafka download, broker start, builds, readiness wait)
 * prints a progress line: well below the promised "at least every 5 s", so
 * that a busy machine delaying a timer or a line does not break the promise.
 */
export const PROGRESS_INTERVAL_MS = 2500;

/** Runs `step`, logging `<what> … <elapsed>` every PROGRESS_INTERVAL_MS until it settles. */
export async function withProgress<T>(log: Logger, what: string, step: () => Promise<T>, intervalMs = PROGRESS_INTERVAL_MS): Promise<T> {
  const started = Date.now();
  const ticker = setInterval(() => log(`${what} … ${((Date.now() - started) / 1000).toFixed(1)} s`), intervalMs);
  try {
    return await step();
  } finally {
    clearInterval(ticker);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** True when `cmd` is an executable on PATH. */
export function commandExists(cmd: string): boolean {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
  return r.status === 0;
}

/** True when something accepts TCP connections on host:port. */
export function isPortOpen(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (open: boolean) => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Whether a process with this pid exists (and we may signal it). */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // An exited child not yet reaped by its parent (zombie) is not alive.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return !fs.existsSync('/proc/self'); // no /proc (not Linux): trust kill(0)
  }
}

/** The command line of a process (Linux /proc), or '' if unknown. */
export function processCmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

export function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Cross-process mutex on a lock file (several jest runs or terminals may run
 * infra:up at once). A lock whose owner pid is gone is taken over.
 */
export async function withFileLock<T>(lockFile: string, fn: () => Promise<T>, timeoutMs = 300_000): Promise<T> {
  fs.mkdirSync(path.dirname(lockFile), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = fs.openSync(lockFile, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = readPid(lockFile);
      if (owner === undefined || !isPidAlive(owner)) {
        // Stale (owner died) or being written right now: remove only if still stale after a moment.
        await sleep(200);
        const again = readPid(lockFile);
        if (again === owner && (owner === undefined || !isPidAlive(owner))) {
          try {
            fs.unlinkSync(lockFile);
          } catch {
            /* someone else took it over */
          }
        }
        continue;
      }
      if (Date.now() > deadline) {
        throw new InfraError(`timed out waiting for lock ${lockFile} held by pid ${owner}`);
      }
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    try {
      if (readPid(lockFile) === process.pid) fs.unlinkSync(lockFile);
    } catch {
      /* already gone */
    }
  }
}
