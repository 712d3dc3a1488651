import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createServer, type Server } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '@lib/testing';
import { isPortOpen } from '../src/util';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** `npm start` as a user runs it, with `env` on top of ours; its output, exit code and how long it ran. */
function npmStart(env: Record<string, string>): Promise<{ code: number | null; output: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn('npm', ['start', '--silent'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output, ms: Date.now() - started }));
  });
}

/** A PATH with every command of ours except `java`: symlinks in a temporary folder. */
function pathWithout(command: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'path-without-java-'));
  for (const from of (process.env.PATH ?? '').split(':')) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(from);
    } catch {
      continue;
    }
    for (const name of names) {
      if (name === command || fs.existsSync(path.join(dir, name))) continue;
      fs.symlinkSync(path.join(from, name), path.join(dir, name));
    }
  }
  return dir;
}

/** Free ports for the local Kafka (client and controller) and the three apps, so only the condition under test is wrong. */
async function freeSetup(): Promise<Record<string, string>> {
  let kafka = await freePort();
  while (await isPortOpen(kafka + 1)) kafka = await freePort();
  return {
    KAFKA_PORT: String(kafka),
    KAFKA_BROKERS: `localhost:${kafka}`,
    ORDER_PORT: String(await freePort()),
    PAYMENT_PORT: String(await freePort()),
    NOTIFICATION_PORT: String(await freePort()),
    KAFKA_CLUSTER_SIZE: '1',
    INFRA_MODE: 'jar',
  };
}

const problemLines = (output: string) => output.split('\n').filter((l) => l.startsWith('[preflight] ') && !/problems? found|^\[preflight\] ok/.test(l));

/** Nothing listens on the ports the start would have used. */
async function nothingRunsOn(env: Record<string, string>): Promise<string[]> {
  const ports = [Number(env.KAFKA_PORT), Number(env.KAFKA_PORT) + 1, Number(env.ORDER_PORT), Number(env.PAYMENT_PORT), Number(env.NOTIFICATION_PORT)];
  const open = await Promise.all(ports.map((p) => isPortOpen(p)));
  return ports.filter((_, i) => open[i]).map(String);
}

describe('npm start preflight', () => {
  it('stops with one line naming Java and how to install it when java is not on PATH, and starts nothing', async () => {
    const env = await freeSetup();
    const bin = pathWithout('java');
    try {
      const r = await npmStart({ ...env, PATH: bin });
      process.stdout.write(`preflight without java: exit ${r.code} after ${r.ms} ms (npm and ts-node start included)\n`);
      expect(r.code).toBe(1);
      expect(problemLines(r.output)).toEqual([
        expect.stringMatching(/^\[preflight\] Java not found on PATH .*apt-get install -y openjdk-17-jre-headless.*brew install openjdk@17.*INFRA_MODE=docker/),
      ]);
      expect(r.output).toMatch(/nothing was started/);
      expect(await nothingRunsOn(env)).toEqual([]);
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });

  it('stops with one line naming the port when something that is not Kafka holds the Kafka port', async () => {
    const env = await freeSetup();
    const holder: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => holder.listen(Number(env.KAFKA_PORT), '127.0.0.1', resolve));
    try {
      const r = await npmStart(env);
      process.stdout.write(`preflight with port ${env.KAFKA_PORT} taken: exit ${r.code} after ${r.ms} ms\n`);
      expect(r.code).toBe(1);
      expect(problemLines(r.output)).toEqual([
        expect.stringMatching(new RegExp(`^\\[preflight\\] port ${env.KAFKA_PORT} \\(Kafka client\\) is taken .*ss -ltnp.*lsof`)),
      ]);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
    const left = await nothingRunsOn(env);
    expect(left).toEqual([]);
  });

  it('stops with one line naming PostgreSQL when the database server is not reachable', async () => {
    const env = await freeSetup();
    const closed = await freePort();
    const urls = Object.fromEntries(
      ['ORDER', 'PAYMENT', 'NOTIFICATION'].map((app) => [`${app}_DATABASE_URL`, `postgres://postgres@127.0.0.1:${closed}/x_${app.toLowerCase()}`]),
    );
    const r = await npmStart({ ...env, ...urls });
    process.stdout.write(`preflight with PostgreSQL unreachable: exit ${r.code} after ${r.ms} ms\n`);
    expect(r.code).toBe(1);
    expect(problemLines(r.output)).toEqual([
      expect.stringMatching(
        new RegExp(`^\\[preflight\\] PostgreSQL on 127\\.0\\.0\\.1:${closed} is not reachable .*systemctl start postgresql.*brew services.*docker compose`),
      ),
    ]);
    expect(await nothingRunsOn(env)).toEqual([]);
  });
});
