import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { eventually, TopicRecorder } from '@lib/testing';
import { Client } from 'pg';
import { countById, createOutboxDatabase, createUniqueTopic, decodeRow, insertRows, MAIN_BROKERS, OutboxDatabase, testRow, TestRow } from './outbox-test-kit';

jest.setTimeout(120_000);

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const BATCH = 200;
const KEYS = 100;
const PER_KEY = 60; // 6,000 events, 30 batches

/** The relay in a child process, with its stdout lines. */
class RelayProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<NodeJS.Signals | number | null>;
  private readonly child: ChildProcess;

  constructor(databaseUrl: string, env: Record<string, string> = {}) {
    this.child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', path.join(__dirname, 'relay-process.ts')],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, OUTBOX_DATABASE_URL: databaseUrl, KAFKA_BROKERS: MAIN_BROKERS.join(','), OUTBOX_BATCH_SIZE: String(BATCH), ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let buffered = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      this.lines.push(...parts);
    });
    this.child.stderr!.resume();
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(signal ?? code)));
  }

  acks(): number {
    return this.lines.filter((l) => l.startsWith('acked ')).length;
  }

  async waitForLine(match: (line: string) => boolean, what: string): Promise<void> {
    await eventually(() => this.lines.some(match), { timeoutMs: 60_000, intervalMs: 20, what });
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

describe('a relay process killed with SIGKILL', () => {
  let db: OutboxDatabase;
  let recorder: TopicRecorder | undefined;
  const processes: RelayProcess[] = [];

  afterAll(async () => {
    for (const p of processes) {
      p.kill('SIGKILL');
      await p.exited;
    }
    await recorder?.stop();
    await db?.drop();
  });

  it('publishes every event at least once after restarts, with at most one batch of duplicates per crash', async () => {
    db = await createOutboxDatabase('outbox_crash');
    const topic = await createUniqueTopic('crash', MAIN_BROKERS, 6);
    recorder = await TopicRecorder.start([topic], MAIN_BROKERS);
    const client: Client = await db.sql();
    const keys = Array.from({ length: KEYS }, () => randomUUID());
    const rows: TestRow[] = [];
    for (let seq = 0; seq < PER_KEY; seq++) for (const key of keys) rows.push(testRow(key, seq));
    for (let i = 0; i < rows.length; i += 1000) await insertRows(client, topic, rows.slice(i, i + 1000));
    const pending = async () => Number((await client.query(`SELECT count(*) AS n FROM outbox`)).rows[0].n);

    // Crash 1, the worst moment: the broker acknowledged batch 3, the rows are not deleted yet.
    const first = new RelayProcess(db.url, { HANG_AFTER_ACKS: '3' });
    processes.push(first);
    await first.waitForLine((l) => l === 'hanging', 'relay acknowledged three batches');
    first.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    expect(await pending()).toBe(rows.length - 2 * BATCH); // batch 3 was sent but is still in the table

    // Crash 2, at an ordinary moment: shortly after the restarted relay's third ack, wherever it is then.
    const second = new RelayProcess(db.url);
    processes.push(second);
    await eventually(() => second.acks() >= 3, { timeoutMs: 60_000, intervalMs: 5, what: 'restarted relay published' });
    second.kill('SIGKILL');
    expect(await second.exited).toBe('SIGKILL');

    // Started again, it finishes the backlog.
    const third = new RelayProcess(db.url);
    processes.push(third);
    await eventually(pending, { timeoutMs: 60_000, accept: (n) => n === 0, what: 'outbox drained' });
    await recorder.waitFor(rows.length, () => true, 30_000);
    third.kill('SIGTERM');
    expect(await third.exited).toBe(0);

    const consumed = recorder.messages.map((m) => decodeRow(m.value));
    const { distinct, duplicates } = countById(consumed.map((r) => r.id));
    process.stdout.write(`crash test: ${rows.length} events, ${consumed.length} messages, ${duplicates} duplicates (batch ${BATCH}, 2 crashes)\n`);
    expect(distinct).toBe(rows.length);
    // Crash 1 republishes exactly the batch it had sent; crash 2 at most the batch in flight.
    expect(duplicates).toBeGreaterThanOrEqual(BATCH);
    expect(duplicates).toBeLessThanOrEqual(2 * BATCH);

    // A consumer that drops redeliveries (the inbox) still sees every key in commit order.
    const seen = new Set<string>();
    const firstSeqsByKey = new Map<string, number[]>();
    for (const row of consumed) {
      if (seen.has(row.id)) continue;
      seen.add(row.id);
      firstSeqsByKey.set(row.key, [...(firstSeqsByKey.get(row.key) ?? []), row.seq]);
    }
    const expected = Array.from({ length: PER_KEY }, (_, i) => i);
    expect(keys.filter((k) => JSON.stringify(firstSeqsByKey.get(k)) !== JSON.stringify(expected))).toEqual([]);
  });
});
