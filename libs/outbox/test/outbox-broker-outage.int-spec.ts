import { randomUUID } from 'node:crypto';
import { startBroker, stopBroker } from '@lib/infra';
import { DurableProducer } from '@lib/kafka';
import { eventually, TopicRecorder, uniqueName } from '@lib/testing';
import { Client } from 'pg';
import { OutboxRelay } from '../src';
import {
  countById,
  createOutboxDatabase,
  createUniqueTopic,
  decodeRow,
  insertRows,
  MemoryLogger,
  muteExpectedKafkaJsErrors,
  OutboxDatabase,
  testRow,
} from './outbox-test-kit';

jest.setTimeout(240_000);
muteExpectedKafkaJsErrors();

// A broker of this suite's own, so stopping it disturbs no other suite.
const BROKER = { name: 'outbox-faults', port: 19092, controllerPort: 19093, partitions: 3, timeoutMs: 120_000, log: () => undefined };
const BROKERS = [`127.0.0.1:${BROKER.port}`];
const OUTAGE_MS = 30_000;
const KEYS = 20;

describe('a broker outage while events are being written', () => {
  let db: OutboxDatabase;
  let relay: OutboxRelay | undefined;
  let producer: DurableProducer | undefined;
  let recorder: TopicRecorder | undefined;
  let writing = false;
  let writer: Promise<void> | undefined;

  afterAll(async () => {
    writing = false;
    await writer;
    await relay?.stop();
    await producer?.disconnect();
    await recorder?.stop();
    await db?.drop();
    await stopBroker(BROKER.name, { log: () => undefined });
  });

  it('loses no event and resumes publishing by itself when the broker is back', async () => {
    await startBroker({ ...BROKER, fresh: true });
    db = await createOutboxDatabase('outbox_outage');
    const topic = await createUniqueTopic('outage', BROKERS, 3);
    producer = new DurableProducer({ brokers: BROKERS, clientId: uniqueName('outbox-outage'), connectionTimeout: 1000, requestTimeout: 5000 });
    const logger = new MemoryLogger();
    relay = new OutboxRelay({
      connectionString: db.url,
      publisher: producer,
      pollIntervalMs: 200,
      initialBackoffMs: 200,
      maxBackoffMs: 2000,
      maxAttempts: 5,
      logger,
    });
    relay.start();

    // One event per transaction every 20 ms, each key in order, for the whole test.
    const client: Client = await db.sql();
    const keys = Array.from({ length: KEYS }, () => randomUUID());
    const written: string[] = [];
    writing = true;
    writer = (async () => {
      for (let i = 0; writing; i++) {
        const row = testRow(keys[i % KEYS], Math.floor(i / KEYS));
        await insertRows(client, topic, [row]);
        written.push(row.eventId);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    await eventually(() => relay!.stats().publishedTotal >= 50, { what: 'publishing before the outage' });
    await stopBroker(BROKER.name, { log: () => undefined });
    const publishedBefore = relay.stats().publishedTotal;
    const writtenBefore = written.length;

    // Thirty seconds without a broker. Watch the relay meanwhile: it must
    // neither blame rows (count attempts, park) nor claim to publish.
    const outageEnds = Date.now() + OUTAGE_MS;
    while (Date.now() < outageEnds) {
      const backlog = await relay.backlog();
      expect(backlog.parked).toBe(0);
      expect((await client.query(`SELECT count(*)::int AS n FROM outbox WHERE attempts > 0`)).rows[0].n).toBe(0);
      await new Promise((r) => setTimeout(r, 500));
    }
    const stats = relay.stats();
    expect(stats.publishedTotal - publishedBefore).toBeLessThanOrEqual(500); // at most the batch in flight when it stopped
    expect(stats.lastError).toBeTruthy();
    expect(written.length - writtenBefore).toBeGreaterThan(OUTAGE_MS / 100); // writes went on
    const backlogDuringOutage = (await relay.backlog()).pending;
    expect(backlogDuringOutage).toBeGreaterThan(0);

    // The broker comes back; nobody touches the relay.
    await startBroker(BROKER);
    await eventually(() => relay!.stats().publishedTotal > publishedBefore + backlogDuringOutage / 2, {
      timeoutMs: 60_000,
      what: 'publishing resumed',
    });
    writing = false;
    await writer;
    await eventually(async () => (await relay!.backlog()).pending === 0, { timeoutMs: 60_000, what: 'outbox drained' });

    recorder = await TopicRecorder.start([topic], BROKERS);
    await recorder.waitFor(written.length, () => true, 60_000);
    const consumed = recorder.messages.map((m) => decodeRow(m.value));
    const { distinct, duplicates } = countById(consumed.map((r) => r.id));
    process.stdout.write(
      `outage test: ${written.length} events written (${written.length - writtenBefore} during/after the outage), ${consumed.length} messages, ${duplicates} duplicates\n`,
    );
    expect(distinct).toBe(written.length);
    expect(new Set(consumed.map((r) => r.id))).toEqual(new Set(written));
    expect(await relay.backlog()).toMatchObject({ pending: 0, parked: 0 });
    expect(relay.stats().parkedTotal).toBe(0);
  });
});
