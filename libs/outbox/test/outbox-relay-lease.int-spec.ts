import { randomUUID } from 'node:crypto';
import { DurableProducer, OutgoingMessage } from '@lib/kafka';
import { eventually, TopicRecorder, uniqueName } from '@lib/testing';
import { Client } from 'pg';
import { OutboxPublisher, OutboxRelay, RelayLease } from '../src';
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

jest.setTimeout(120_000);

const LEASE_MS = 2000;
const BATCH = 100;

/** A publisher whose sends can be held after the broker acknowledged them: a relay that stalls between the ack and marking the rows published. */
class StallingPublisher implements OutboxPublisher {
  sends = 0;
  private stalled: { release: () => void } | null = null;
  private stallAt: number | null = null;
  constructor(private readonly inner: OutboxPublisher) {}

  /** The next send is acknowledged by the broker and then held until `release()`. */
  stallNextSend(): void {
    this.stallAt = this.sends + 1;
  }
  get isStalled(): boolean {
    return this.stalled !== null;
  }
  release(): void {
    this.stalled?.release();
    this.stalled = null;
  }

  async send(messages: readonly OutgoingMessage[]): Promise<unknown> {
    const result = await this.inner.send(messages);
    this.sends++;
    if (this.sends === this.stallAt) await new Promise<void>((release) => (this.stalled = { release }));
    return result;
  }
}

describe('the outbox relay lease', () => {
  let db: OutboxDatabase;
  let recorder: TopicRecorder | undefined;
  const relays: OutboxRelay[] = [];
  const producers: DurableProducer[] = [];

  beforeAll(async () => {
    db = await createOutboxDatabase('outbox_lease');
  });

  afterAll(async () => {
    await Promise.all(relays.map((r) => r.stop()));
    await Promise.all(producers.map((p) => p.disconnect()));
    await recorder?.stop();
    await db?.drop();
  });

  it('gives each leadership a larger epoch, lets nobody else take a live lease, and passes an expired one on', async () => {
    const sql: Client = await db.sql();
    const a = new RelayLease({ durationMs: 500, name: 'epochs', holder: 'a' });
    const b = new RelayLease({ durationMs: 500, name: 'epochs', holder: 'b' });
    expect(await a.acquire(sql)).toBe(true);
    expect(a.holds()).toBe(true);
    expect(await b.acquire(sql)).toBe(false);
    expect(await a.renew(sql)).toBe(true);

    // a stops renewing: once its lease has expired in the database, b takes it with the next epoch, and a cannot renew.
    await eventually(() => b.acquire(sql), { timeoutMs: 5000, intervalMs: 50, what: 'b takes the expired lease' });
    expect(b.epoch).toBe('2');
    expect(a.holds()).toBe(false);
    expect(await a.renew(sql)).toBe(false);
    expect(a.epoch).toBeNull();
    expect(await a.fencedDelete(sql, ['1'])).toBeNull();

    // A graceful release hands over at once.
    await b.release(sql);
    expect(await a.acquire(sql)).toBe(true);
    expect(a.epoch).toBe('3');
  });

  it("fences a stalled leader's late batch: the new leader publishes it again, the deposed one counts it and steps down", async () => {
    const topic = await createUniqueTopic('lease', MAIN_BROKERS, 3);
    recorder = await TopicRecorder.start([topic], MAIN_BROKERS);
    const make = (publisher: (inner: OutboxPublisher) => OutboxPublisher) => {
      const producer = new DurableProducer({ brokers: MAIN_BROKERS, clientId: uniqueName('outbox-lease') });
      producers.push(producer);
      const wrapped = publisher(producer);
      const relay = new OutboxRelay({
        connectionString: db.url,
        publisher: wrapped,
        batchSize: BATCH,
        pollIntervalMs: 100,
        standbyRetryMs: 100,
        leaseMs: LEASE_MS,
        logger: new MemoryLogger(),
      });
      relays.push(relay);
      return { relay, publisher: wrapped };
    };
    const first = make((inner) => new StallingPublisher(inner));
    const stalling = first.publisher as StallingPublisher;
    first.relay.start();
    await eventually(() => first.relay.stats().active, { what: 'first relay leads' });

    // The leader's next batch is acknowledged by the broker, then the leader stalls before marking it published.
    stalling.stallNextSend();
    const sql = await db.sql();
    const keys = Array.from({ length: 10 }, () => randomUUID());
    const rows = keys.flatMap((key) => Array.from({ length: 30 }, (_, seq) => testRow(key, seq))); // 300 rows, 3 batches
    await insertRows(sql, topic, rows);
    await eventually(() => stalling.isStalled, { what: 'leader stalled after an ack' });

    // A stand-by takes over once the lease has expired and publishes everything, the stalled batch included.
    const second = make((inner) => inner);
    second.relay.start();
    await eventually(() => second.relay.stats().active, { timeoutMs: 10 * LEASE_MS, what: 'stand-by takes over' });
    expect(Number(second.relay.stats().leaseEpoch)).toBeGreaterThan(1);
    await eventually(async () => Number((await sql.query('SELECT count(*) AS n FROM outbox')).rows[0].n), {
      accept: (n) => n === 0,
      what: 'outbox drained by the new leader',
    });

    // The deposed leader wakes: its delete is fenced, its batch counted, and it stands by.
    stalling.release();
    await eventually(() => first.relay.stats().deposedLeaderRowsTotal, { accept: (n) => n > 0, what: 'late batch counted' });
    expect(first.relay.stats()).toMatchObject({ active: false, deposedLeaderRowsTotal: BATCH, leaseEpoch: null });
    expect(second.relay.stats().active).toBe(true);

    await recorder.waitFor(rows.length + BATCH, () => true, 30_000);
    const { distinct, duplicates } = countById(recorder.messages.map((m) => decodeRow(m.value).id));
    expect(distinct).toBe(rows.length);
    // Exactly the late batch twice: bounded by one batch, and equal to what the deposed leader counted.
    expect(duplicates).toBe(first.relay.stats().deposedLeaderRowsTotal);
  });

  it('counts the batches the broker acknowledged that it could not mark published (its connection ended after the send), at most two, and publishes them again', async () => {
    const topic = await createUniqueTopic('unmarked', MAIN_BROKERS, 3);
    const local = await TopicRecorder.start([topic], MAIN_BROKERS);
    // A database of its own: the relays of the test above still run on the shared one, and would publish these rows too.
    const own = await createOutboxDatabase('outbox_unmarked');
    try {
      const producer = new DurableProducer({ brokers: MAIN_BROKERS, clientId: uniqueName('outbox-unmarked') });
      producers.push(producer);
      const sql = await own.sql();
      let cut = false;
      // The first send is acknowledged, then the relay's own connection ends before it can delete the rows.
      const publisher: OutboxPublisher = {
        send: async (messages) => {
          const result = await producer.send(messages);
          if (!cut) {
            cut = true;
            await sql.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'outbox-relay' AND datname = current_database()`);
          }
          return result;
        },
      };
      const relay = new OutboxRelay({
        connectionString: own.url,
        publisher,
        batchSize: BATCH,
        pollIntervalMs: 100,
        standbyRetryMs: 100,
        leaseMs: LEASE_MS,
        leaseName: 'unmarked',
        logger: new MemoryLogger(),
      });
      relays.push(relay);
      const rows = Array.from({ length: 3 * BATCH }, (_, seq) => testRow(randomUUID(), seq));
      await insertRows(sql, topic, rows);
      relay.start();

      await eventually(async () => Number((await sql.query('SELECT count(*) AS n FROM outbox')).rows[0].n), {
        accept: (n) => n === 0,
        timeoutMs: 10 * LEASE_MS,
        what: 'outbox drained after the reconnect',
      });
      // The acknowledged batch, and the next one when it was already in flight (the relay sends a batch
      // while it deletes the one before): at most two batches, each counted.
      const { unmarkedRowsTotal, deposedLeaderRowsTotal } = relay.stats();
      expect(deposedLeaderRowsTotal).toBe(0);
      expect([BATCH, 2 * BATCH]).toContain(unmarkedRowsTotal);
      await local.waitFor(rows.length + unmarkedRowsTotal, () => true, 30_000);
      const { distinct, duplicates } = countById(local.messages.map((m) => decodeRow(m.value).id));
      expect(distinct).toBe(rows.length);
      expect(duplicates).toBe(unmarkedRowsTotal); // the unmarked batches, published again after the reconnect
    } finally {
      await local.stop();
      await Promise.all(relays.splice(relays.length - 1).map((r) => r.stop()));
      await own.drop();
    }
  });
});
