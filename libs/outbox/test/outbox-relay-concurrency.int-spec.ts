import { randomUUID } from 'node:crypto';
import { DurableProducer } from '@lib/kafka';
import { eventually, TopicRecorder, uniqueName } from '@lib/testing';
import { OutboxRelay } from '../src';
import {
  countById,
  createOutboxDatabase,
  createUniqueTopic,
  decodeRow,
  insertRows,
  MAIN_BROKERS,
  MemoryLogger,
  OutboxDatabase,
  testRow,
} from './outbox-test-kit';

jest.setTimeout(180_000);

const KEYS = 200;
const EVENTS_PER_KEY = 50; // 10,000 events
const WRITERS = 8;

describe('three relays over one database', () => {
  let db: OutboxDatabase;
  let recorder: TopicRecorder | undefined;
  const relays: OutboxRelay[] = [];
  const producers: DurableProducer[] = [];

  afterAll(async () => {
    await Promise.all(relays.map((r) => r.stop()));
    await Promise.all(producers.map((p) => p.disconnect()));
    await recorder?.stop();
    await db?.drop();
  });

  it('publishes all 10,000 events on 200 keys, each key in commit order, while the active relay hands over', async () => {
    db = await createOutboxDatabase('outbox_three_relays');
    const topic = await createUniqueTopic('three-relays', MAIN_BROKERS, 6);
    recorder = await TopicRecorder.start([topic], MAIN_BROKERS);
    for (let i = 0; i < 3; i++) {
      const producer = new DurableProducer({ brokers: MAIN_BROKERS, clientId: uniqueName(`outbox-relay-${i}`) });
      producers.push(producer);
      relays.push(
        new OutboxRelay({
          connectionString: db.url,
          publisher: producer,
          batchSize: 250,
          pollIntervalMs: 200,
          standbyRetryMs: 100,
          logger: new MemoryLogger(),
        }),
      );
    }
    relays.forEach((r) => r.start());

    // Each writer owns 25 keys; in each of its transactions it appends the next
    // event of every one of its keys. A key's events therefore commit one after
    // the other, and `seq` is the commit order. Writers run concurrently, so
    // transactions of different writers interleave and commit out of id order.
    const keys = Array.from({ length: KEYS }, () => randomUUID());
    const written: string[] = [];
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      const mine = keys.filter((_, i) => i % WRITERS === w);
      const client = await db.sql();
      for (let seq = 0; seq < EVENTS_PER_KEY; seq++) {
        const rows = mine.map((key) => testRow(key, seq));
        await client.query('BEGIN');
        await insertRows(client, topic, rows);
        await client.query('COMMIT');
        written.push(...rows.map((r) => r.eventId));
      }
    });

    // Once a third is through, stop whichever relay is active: one of the two
    // stand-bys must take over where it left off.
    await eventually(() => recorder!.messages.length >= (KEYS * EVENTS_PER_KEY) / 3, { timeoutMs: 60_000, what: 'a third published' });
    const first = relays.find((r) => r.stats().active);
    expect(first).toBeDefined();
    expect(relays.filter((r) => r.stats().active)).toHaveLength(1);
    await first!.stop();
    await Promise.all(writers);

    await recorder.waitFor(KEYS * EVENTS_PER_KEY, () => true, 90_000);
    await eventually(async () => (await relays[0].backlog()).pending === 0, { what: 'outbox drained' });

    const consumed = recorder.messages.map((m) => decodeRow(m.value));
    const { distinct, duplicates } = countById(consumed.map((r) => r.id));
    expect(distinct).toBe(KEYS * EVENTS_PER_KEY);
    expect(new Set(consumed.map((r) => r.id))).toEqual(new Set(written));
    // A graceful hand-over finishes the batch in flight: nothing is sent twice.
    expect(duplicates).toBe(0);

    const byKey = new Map<string, number[]>();
    for (const row of consumed) byKey.set(row.key, [...(byKey.get(row.key) ?? []), row.seq]);
    const expected = Array.from({ length: EVENTS_PER_KEY }, (_, i) => i);
    const outOfOrder = keys.filter((key) => JSON.stringify(byKey.get(key)) !== JSON.stringify(expected));
    expect(outOfOrder).toEqual([]);

    // Exactly one relay was active at a time, and someone else took over.
    const published = relays.map((r) => r.stats().publishedTotal);
    expect(published.reduce((a, b) => a + b, 0)).toBe(KEYS * EVENTS_PER_KEY);
    expect(published.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
  });
});
