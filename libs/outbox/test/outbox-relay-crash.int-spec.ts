import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { eventually, NodeProcess, TopicRecorder } from '@lib/testing';
import { Client } from 'pg';
import { countById, createOutboxDatabase, createUniqueTopic, decodeRow, insertRows, MAIN_BROKERS, OutboxDatabase, testRow, TestRow } from './outbox-test-kit';

jest.setTimeout(120_000);

const BATCH = 200;
const KEYS = 100;
const PER_KEY = 60; // 6,000 events, 30 batches

/** The relay (relay-process.ts) as a process of its own, on the main broker; `start()` resolves once it runs. */
const relayProcess = (databaseUrl: string, env: Record<string, string> = {}) =>
  new NodeProcess({
    name: 'outbox-relay',
    script: path.join(__dirname, 'relay-process.ts'),
    env: { OUTBOX_DATABASE_URL: databaseUrl, KAFKA_BROKERS: MAIN_BROKERS.join(','), OUTBOX_BATCH_SIZE: String(BATCH), ...env },
    ready: { kind: 'line', line: 'started' },
    readyTimeoutMs: 60_000,
  });

/** Batches the broker acknowledged to this run of the relay. */
const acks = (relay: NodeProcess) => relay.runLines.filter((line) => line.startsWith('acked ')).length;

describe('a relay process killed with SIGKILL', () => {
  let db: OutboxDatabase;
  let recorder: TopicRecorder | undefined;
  const processes: NodeProcess[] = [];

  afterAll(async () => {
    for (const relay of processes) await relay.kill('SIGKILL');
    await recorder?.stop();
    await db?.drop();
  });

  it('publishes every event at least once after restarts, with at most two batches of duplicates per crash', async () => {
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
    const first = relayProcess(db.url, { HANG_AFTER_ACKS: '3' });
    processes.push(first);
    await first.start();
    await first.waitForLine('hanging', { what: 'relay acknowledged three batches' });
    expect(await first.kill('SIGKILL')).toBe('SIGKILL');
    // Batch 3 was sent but is still in the table; so is batch 2 when its delete, which runs during the
    // send of batch 3, had not finished.
    const ackedNotDeleted = 3 * BATCH - (rows.length - (await pending()));
    expect([BATCH, 2 * BATCH]).toContain(ackedNotDeleted);

    // Crash 2, at an ordinary moment: shortly after the restarted relay's third ack, wherever it is then.
    const second = relayProcess(db.url);
    processes.push(second);
    await second.start();
    await eventually(() => acks(second) >= 3, { timeoutMs: 60_000, intervalMs: 5, what: 'restarted relay published' });
    expect(await second.kill('SIGKILL')).toBe('SIGKILL');

    // Started again, it finishes the backlog.
    const third = relayProcess(db.url);
    processes.push(third);
    await third.start();
    await eventually(pending, { timeoutMs: 60_000, accept: (n) => n === 0, what: 'outbox drained' });
    await recorder.waitFor(rows.length, () => true, 30_000);
    expect(await third.kill('SIGTERM')).toBe(0);

    const consumed = recorder.messages.map((m) => decodeRow(m.value));
    const { distinct, duplicates } = countById(consumed.map((r) => r.id));
    process.stdout.write(`crash test: ${rows.length} events, ${consumed.length} messages, ${duplicates} duplicates (batch ${BATCH}, 2 crashes)\n`);
    expect(distinct).toBe(rows.length);
    // Crash 1 republishes exactly what it had sent and not deleted; crash 2 at most the batch being
    // deleted and the batch in flight.
    expect(duplicates).toBeGreaterThanOrEqual(ackedNotDeleted);
    expect(duplicates).toBeLessThanOrEqual(ackedNotDeleted + 2 * BATCH);

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
